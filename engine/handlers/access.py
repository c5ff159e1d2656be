"""Limited-access cases from ``person.updated`` v2 and how a merge carries them (engine/domain/access.py)."""
from __future__ import annotations

from datetime import datetime

from engine import state_keys as keys
from engine.domain.access import LimitedAccess
from engine.events import inbound as i
from engine.handlers.context import Context


def limit_access(ctx: Context, crn: str, given: i.LimitedAccess) -> None:
    """The case system's rule replaces the stored one, unless a newer rule is stored already (a late message
    changes nothing). A merged-away crn's rule reaches the case it lives under too."""
    rule = LimitedAccess.of(crn, given.restrictions, given.exclusions)
    stored = ctx.uow.access_rules([crn]).get(crn)
    if stored is not None and stored[1] is not None and stored[1] > ctx.now:
        return
    _store(ctx, rule, ctx.now)
    if (home := ctx.current_crn(crn)) != crn:
        join_access(ctx, crn, home)


def join_access(ctx: Context, source_crn: str, target_crn: str) -> None:
    """The target keeps the source's limits with its own (a merge never opens a case to more users)."""
    rules = ctx.uow.access_rules([source_crn, target_crn])
    if source_crn not in rules:
        return
    source = rules[source_crn][0]
    target = rules[target_crn][0] if target_crn in rules else LimitedAccess(target_crn)
    joined = target.joined(source)
    if joined != target:
        _store(ctx, joined, max(filter(None, (ctx.now, rules.get(target_crn, (None, None))[1]))))


def _store(ctx: Context, rule: LimitedAccess, updated_at: datetime) -> None:
    """Store the rule, and move the mark the API reads the rules again by (engine/state_keys.py)."""
    ctx.uow.set_access(rule, updated_at, ctx.event_id)
    ctx.uow.bump_state(keys.ACCESS_RULES)
