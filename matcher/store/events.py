"""Chain matchmaking events (洽谈会): the event, its invitees and its scheduled 1:1 meetings with their outcomes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from matcher.store.database import Store, dumps, now

MEETING_COLUMNS = ("slot", "table_no", "buyer_id", "buyer", "supplier_id", "supplier", "score", "parts", "reason")
INVITEE_COLUMNS = ("firm_id", "name", "role", "why", "region")


def save_event(store: Store, event: dict[str, Any], invitees: Sequence[dict[str, Any]],
               meetings: Sequence[dict[str, Any]]) -> int:
    """Store a planned event with its invitees and meetings in one transaction; its id."""
    with store.transaction() as db:
        cur = db.execute(
            "INSERT INTO events (name, chains, on_date, venue, slots, tables, cap, score, greedy_score, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event.get("name"), dumps(event.get("chains") or []), event.get("on_date"), event.get("venue"),
             event.get("slots"), event.get("tables"), event.get("cap"), event.get("score"),
             event.get("greedy_score"), now(), store.user])
        event_id = int(cur.lastrowid or 0)
        db.conn.executemany(
            f"INSERT INTO event_invitees (event_id, {', '.join(INVITEE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
            [(event_id, *[i.get(c) for c in INVITEE_COLUMNS]) for i in invitees])
        db.conn.executemany(
            f"INSERT INTO event_meetings (event_id, {', '.join(MEETING_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
            [(event_id, *[dumps(m.get(c) or {}) if c == "parts" else m.get(c) for c in MEETING_COLUMNS])
             for m in meetings])
        return event_id


def get_event(store: Store, event_id: int) -> dict[str, Any] | None:
    """One event with ``chains`` decoded, or ``None``."""
    rows = list(store.db.query("SELECT * FROM events WHERE id = ?", [event_id]))
    if not rows:
        return None
    return dict(rows[0], chains=json.loads(rows[0].get("chains") or "[]"))


def list_events(store: Store) -> list[dict[str, Any]]:
    """Every event, the latest date first, with its meeting count."""
    rows = store.db.query("SELECT e.*, (SELECT count(*) FROM event_meetings m WHERE m.event_id = e.id) AS meetings "
                          "FROM events e ORDER BY on_date DESC, id DESC")
    return [dict(r, chains=json.loads(r.get("chains") or "[]")) for r in rows]


def meetings(store: Store, event_id: int) -> list[dict[str, Any]]:
    """The event's meetings by slot and table, ``parts`` decoded."""
    rows = store.db.query("SELECT * FROM event_meetings WHERE event_id = ? ORDER BY slot, table_no", [event_id])
    return [dict(r, parts=json.loads(r.get("parts") or "{}")) for r in rows]


def invitees(store: Store, event_id: int) -> list[dict[str, Any]]:
    """The event's invited firms in the order they were proposed."""
    return list(store.db.query("SELECT * FROM event_invitees WHERE event_id = ? ORDER BY rowid", [event_id]))


def set_outcome(store: Store, meeting_id: int, outcome: str, note: str, project_id: int | None) -> None:
    """Record a meeting's outcome (and the project it fed)."""
    with store.transaction() as db:
        db.execute("UPDATE event_meetings SET outcome = ?, outcome_note = ?, project_id = ? WHERE id = ?",
                   [outcome, note, project_id, meeting_id])


def meeting(store: Store, meeting_id: int) -> dict[str, Any] | None:
    """One meeting, or ``None``."""
    rows = list(store.db.query("SELECT * FROM event_meetings WHERE id = ?", [meeting_id]))
    return dict(rows[0], parts=json.loads(rows[0].get("parts") or "{}")) if rows else None
