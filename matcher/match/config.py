"""The matcher's weights and thresholds as data (models/matcher.toml), one typed object passed to ``Matcher``."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from matcher import paths

CONFIG_FILE = "matcher.toml"
SECTIONS = ("chains", "industries", "parks", "counterparts", "search")


class ConfigError(ValueError):
    """A config file that cannot be used: names the file and the key."""


@dataclass(frozen=True)
class MatcherConfig:
    """Weights and thresholds of each answerer (section name → {key: number}).

    Evaluation and tuning work on copies (:meth:`with_values`); a build records :meth:`as_dict` in its meta.
    """

    chains: dict[str, float] = field(default_factory=dict)
    industries: dict[str, float] = field(default_factory=dict)
    parks: dict[str, float] = field(default_factory=dict)
    counterparts: dict[str, float] = field(default_factory=dict)
    search: dict[str, float] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> MatcherConfig:
        """Read a config file (default ``models/matcher.toml``); every value must be a number."""
        file = Path(path) if path else paths.MODELS_DIR / CONFIG_FILE
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{file}: 找不到匹配参数文件") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: 不是有效的 TOML：{exc}") from None
        return cls.from_dict(raw, str(file))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "") -> MatcherConfig:
        """Build from {section: {key: number}}, rejecting unknown sections and non-numbers with the key named."""
        unknown = set(raw) - set(SECTIONS) - {"source"}
        if unknown:
            raise ConfigError(f"{source}: 未知的参数节 {sorted(unknown)}，可用：{', '.join(SECTIONS)}")
        sections: dict[str, dict[str, float]] = {}
        for name in SECTIONS:
            values = raw.get(name, {})
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: [{name}] 应为键值表")
            for key, value in values.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{source}: [{name}] {key} 应为数字，实为 {value!r}")
            sections[name] = {k: float(v) for k, v in values.items()}
        return cls(**sections, source=source or str(raw.get("source", "")))

    def with_values(self, section: str, **values: float) -> MatcherConfig:
        """A copy with some values of one section changed (evaluation and tuning never touch the original)."""
        if section not in SECTIONS:
            raise ConfigError(f"未知的参数节 {section!r}")
        sections: dict[str, dict[str, float]] = {name: getattr(self, name) for name in SECTIONS}
        sections[section] = {**sections[section], **values}
        return MatcherConfig(**sections, source=self.source)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """{section: {key: value}}, without the source."""
        d = asdict(self)
        d.pop("source")
        return d

    def digest(self) -> str:
        """Short hash of the values: part of the build key, so a changed weight rebuilds."""
        return hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def to_toml(self) -> str:
        """The values as TOML text (for ``matcher config show`` and ``matcher tune``)."""
        lines = []
        for name in SECTIONS:
            lines.append(f"[{name}]")
            lines += [f"{k} = {v:g}" for k, v in getattr(self, name).items()]
            lines.append("")
        return "\n".join(lines)


def default_config() -> MatcherConfig:
    """The shipped config (``models/matcher.toml``, or ``MATCHER_MODELS``'s copy)."""
    return MatcherConfig.load()
