"""The plan's two living lists: main-city firms that spill over (溢出清单) and their outward investments (对外投资清单)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matcher.store.database import Store, now

SPILL_COLUMNS = ("location", "chain", "segment", "spill_type", "land_mu", "plant_m2", "power", "talent", "intended",
                 "status", "owner", "follow_date", "follow_note")
INVEST_COLUMNS = ("firm_id", "firm", "destination", "amount", "chain", "on_date", "note")


def spill_entry(store: Store, firm_id: int) -> dict[str, Any] | None:
    """One firm's spillover-list entry, or ``None``."""
    rows = list(store.db.query("SELECT * FROM spillover_list WHERE firm_id = ?", [firm_id]))
    return dict(rows[0]) if rows else None


def save_spill(store: Store, firm_id: int, values: dict[str, Any]) -> None:
    """Insert a firm's entry or update the given columns of it."""
    cols = [c for c in values if c in SPILL_COLUMNS]
    with store.transaction() as db:
        if spill_entry(store, firm_id) is None:
            db.execute(f"INSERT INTO spillover_list (firm_id, {', '.join(cols)}, updated_at) "
                       f"VALUES (?, {', '.join('?' * len(cols))}, ?)", [firm_id, *[values[c] for c in cols], now()])
        elif cols:
            db.execute(f"UPDATE spillover_list SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? "
                       "WHERE firm_id = ?", [*[values[c] for c in cols], now(), firm_id])


def spill_list(store: Store, chains: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The spillover list joined with each firm's name and region, optionally of some chains; by firm name."""
    sql = ("SELECT s.*, f.name AS name, f.region AS region, f.district AS district FROM spillover_list s "
           "JOIN firms f ON f.id = s.firm_id")
    args: list[Any] = []
    if chains:
        sql += f" WHERE s.chain IN ({', '.join('?' * len(chains))})"
        args += list(chains)
    return list(store.db.query(sql + " ORDER BY f.name", args))


def add_investment(store: Store, values: dict[str, Any]) -> int:
    """Record one outward investment; its id."""
    with store.transaction() as db:
        cur = db.execute(f"INSERT INTO outward_investments ({', '.join(INVEST_COLUMNS)}, created_at) "
                         f"VALUES ({', '.join('?' * len(INVEST_COLUMNS))}, ?)",
                         [*[values.get(c) for c in INVEST_COLUMNS], now()])
        return int(cur.lastrowid or 0)


def investments(store: Store) -> list[dict[str, Any]]:
    """Every recorded outward investment, newest first."""
    return list(store.db.query("SELECT * FROM outward_investments ORDER BY on_date DESC, id DESC"))
