"""Match results as data: every score carries its parts (they add up) and a plain-Chinese reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matcher.match.query import Query


@dataclass
class Hit:
    """One ranked answer: a chain, a GB/T 4754 class, a park, or a counterpart firm.

    Attributes:
        kind: ``chain`` | ``industry`` | ``park`` | ``supplier`` | ``customer`` | ``firm``.
        target: what was matched (chain name, 4-digit code, park name, firm id as text).
        label: the display name.
        score: the total; always ``sum(parts.values())``.
        parts: the named contributions to ``score``.
        reason: one plain-Chinese sentence, rendered by :func:`matcher.reasons.render` from the fields above.
        data: the evidence (matched keywords, chain path, segment, region, …).
    """

    kind: str
    target: str
    label: str
    parts: dict[str, float]
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def score(self) -> float:
        """The total score, by construction the sum of the parts."""
        return float(sum(self.parts.values()))

    def as_dict(self, digits: int | None = 4) -> dict[str, Any]:
        """JSON-ready form, score included; ``digits=None`` keeps exact values (what a run stores)."""
        # Built by hand: dataclasses.asdict deep-copies the evidence, a noticeable cost for a batch's many hits.
        d: dict[str, Any] = {"kind": self.kind, "target": self.target, "label": self.label, "data": dict(self.data),
                             "reason": self.reason}
        d["parts"] = {str(k): (float(v) if digits is None else round(float(v), digits)) for k, v in self.parts.items()}
        d["score"] = float(self.score) if digits is None else round(self.score, digits)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hit:
        """The inverse of :meth:`as_dict` (the score is recomputed from the parts, so it always adds up)."""
        return cls(kind=d["kind"], target=str(d["target"]), label=d.get("label") or str(d["target"]),
                   parts={str(k): float(v) for k, v in (d.get("parts") or {}).items()}, data=dict(d.get("data") or {}),
                   reason=d.get("reason") or "")


@dataclass
class Filters:
    """Structured filters, applied before the top-k cut.

    Attributes:
        region: 西安 / 咸阳 / 西咸新区 (counterparts and search).
        chain: only this chain (counterparts, search; the chain list keeps it first).
        park: only this park or new city (park ranking).
        system: only chains carried by this industrial system (id or name).
        all_parks: rank every park as a landing place, main-city and 咸阳 parks too (by default only 承接地:
            the five new cities, their parks and the co-building 组团).
    """

    region: str | None = None
    chain: str | None = None
    park: str | None = None
    system: str | None = None
    all_parks: bool = False


@dataclass
class MatchResult:
    """Everything known about one firm: chains per system, GB/T 4754 class, parks and counterparts."""

    query_text: str
    firm: dict[str, Any] | None
    chains: list[Hit]
    none: bool
    none_prob: float
    systems: list[dict[str, Any]]
    industries: list[Hit]
    parks: list[Hit]
    suppliers: list[Hit]
    customers: list[Hit]
    peers: list[Hit] = field(default_factory=list)  # 同行: same products, shown apart from suppliers and customers
    query: Query | None = None  # what the input was understood to say (识别为：…)
    nearest: list[Hit] = field(default_factory=list)  # when none: the closest chains and their evidence

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "query_text": self.query_text,
            "firm": {k: v for k, v in (self.firm or {}).items() if k != "original"} or None,
            "none": self.none,
            "none_prob": round(self.none_prob, 4),
            "chains": [h.as_dict() for h in self.chains],
            "systems": self.systems,
            "industries": [h.as_dict() for h in self.industries],
            "parks": [h.as_dict() for h in self.parks],
            "suppliers": [h.as_dict() for h in self.suppliers],
            "customers": [h.as_dict() for h in self.customers],
            "peers": [h.as_dict() for h in self.peers],
            "query": self.query.as_dict() if self.query is not None else None,
            "understood": self.query.summary() if self.query is not None else "",
            "nearest": [h.as_dict() for h in self.nearest],
        }
