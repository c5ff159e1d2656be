"""Row rules every store follows, SQL or in memory (no SQLAlchemy here).

What a stored dead letter's text looks like, how the read side names the dead letters that are not bad
input, how a region's referral row gets its deadline, and what the engine's state is (the tables that make
it up, the columns and state keys that record how it was delivered rather than what it is).
"""
from __future__ import annotations

from typing import Any

from engine.domain.policies import deadline
from engine.ports import CONFLICT_REASON, EXPIRED_REASON

PARKED = "PARKED"  # the outcome a seen copy reports while it waits

# Tables that make up the engine's state, with the columns that are storage details, not state.
STATE_TABLES: dict[str, tuple[str, ...]] = {
    "people": (), "sentences": (), "requirements": (), "referrals": (), "referral_history": ("id",),
    "cohorts": (), "facilitators": (), "allocations": (), "plans": (), "attendance": ("id",),
    # the text and server time of a processed or parked copy, and where a parked one came from, explain the
    # state rather than make it: a replay from another file (or a redelivery) holds the same state
    "processed_events": ("raw", "seen_at"),
    "parked_events": ("origin", "line_number", "partition", "offset", "seen_at"),
    "outbox": ("id", "sent_at"), "offices": (),
    "active_alerts": (), "alert_actions": ("id",), "engine_state": (), "planner_overrides": (),
    "person_access": (),  # (the audit of reads is not state: it records who looked, not what happened)
}
# engine_state rows that record how the state was delivered (consumer offsets, re-plan marks), not what it is.
BOOKKEEPING_PREFIXES = ("offset:", "dirty:", "clock", "low:")


def canonical_state(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Every state table (``tables``: name → stored rows) as sorted rows of JSON-friendly values, without
    the storage details: equal state, equal export, whichever store holds it."""
    out = {}
    for name, skip in STATE_TABLES.items():
        rows = [{k: plain(v) for k, v in r.items() if k not in skip} for r in tables[name]]
        if name == "engine_state":
            rows = [r for r in rows if not r["name"].startswith(BOOKKEEPING_PREFIXES)]
        out[name] = sorted(rows, key=lambda r: repr(sorted(r.items())))
    return out


def plain(value: Any) -> Any:
    """A stored value as JSON-friendly data (dates and times as ISO text)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dead_letter_text(value: str | None) -> str | None:
    """A bad line may hold a NUL, which a PostgreSQL text column cannot: it is kept as the visible escape
    ``\\u0000`` (SQLite could store it as is; every store keeps the same, so all show the same dead letters)."""
    return value.replace("\x00", "\\u0000") if value and "\x00" in value else value


def labelled_origin(origin: str, reason: str) -> str:
    """A dead letter's origin, naming the kinds that are not bad input (so an alert listing origins shows them)."""
    if reason.startswith(CONFLICT_REASON):
        return f"{origin} (conflicting duplicate)"
    if reason.startswith(EXPIRED_REASON):
        return f"{origin} (parked event expired)"
    return origin


def add_deadline(row: dict[str, Any]) -> dict[str, Any]:
    """A region's referral row with its ``deadline`` (the earlier of ``requirement_end`` and ``sentence_end``;
    None without a sentence)."""
    row["deadline"] = deadline(row["requirement_end"], row["sentence_end"]) if row["sentence_end"] else None
    return row
