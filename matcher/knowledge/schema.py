"""The knowledge base's schema: kinds, allowed values and fields of each entry, and its error types."""

from __future__ import annotations

from typing import Any, NamedTuple

KINDS = ("systems", "chains", "parks")
STAGES = ("上游", "中游", "下游")
CONFIDENCE = ("confirmed", "single-source", "待核实")
REGIONS = ("西咸新区", "西安", "咸阳", "陕西")
STATUSES = ("current", "superseded")
PARK_KINDS = ("新城", "园区", "组团")
PARK_CITIES = ("西咸新区", "西安", "咸阳")
NEW_CITIES = ("空港新城", "沣东新城", "秦汉新城", "沣西新城", "泾河新城")
ROLES = ("链主", "龙头", "配套")
# A park's place on the offline map: longitude/latitude (WGS-84), whether it is approximate (约), how it was obtained
# (a citation, or how it was estimated when no public source gives one) and how sure it is (CONFIDENCE).
POSITION_FIELDS = ("lon", "lat", "approx", "source", "confidence")
POSITION_BOUNDS = {"lon": (105.4, 111.3), "lat": (31.7, 39.6)}  # 陕西省: a position outside is a typo or a swap
FILE_AUTHOR = "data/kb"  # author of versions imported from the files, as opposed to staff edits
_KIND_WORD = {"systems": "体系", "chains": "产业链", "parks": "园区"}
# The fields each entry may carry; anything else is almost always a typo (e.g. "lead_chain") and is reported.
FIELDS = {
    "systems": {"id", "name", "region", "document", "status", "as_of", "source", "confidence", "note", "items"},
    "items": {"name", "parent", "chains", "source", "confidence", "as_of", "note"},
    "chains": {"name", "aliases", "description", "focus", "segments", "gb_codes", "sei", "sw_industries", "systems",
               "anchors", "source", "confidence", "as_of", "crosswalk_note", "note"},
    "segments": {"stage", "name", "keywords", "products", "source", "confidence", "note"},
    "anchors": {"name", "region", "location", "role", "source", "confidence", "note"},
    "parks": {"name", "kind", "new_city", "city", "parent", "members", "lead_industries", "lead_chains", "features",
              "features_unconfirmed", "firms", "location", "position", "source", "confidence", "as_of", "note"},
}


class KBError(ValueError):
    """A knowledge-base file or edit that cannot be accepted; the message names the file/entry and the problem."""


class Problem(NamedTuple):
    """One validation finding: where (file and entry) and what is wrong, in Chinese."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} · {self.entry}：{self.message}"


def entry_key(kind: str, row: dict[str, Any]) -> str:
    """The identifier of an entry: a system's id, a chain's or park's name."""
    return str(row.get("id") if kind == "systems" else row.get("name") or "")
