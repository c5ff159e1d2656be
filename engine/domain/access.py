"""Limited-access cases: who may see a person's data (the case system's restrictions and exclusions).

A **restriction** lists the only users who may see the case; an **exclusion** lists users who may not. Both
come from the case system (``person.updated`` v2, docs/events.md) and are judged against the caller's user
id (the API token's ``sub``). Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class LimitedAccess:
    """The access rule of one crn. ``restricted`` with an empty ``restrictions`` lets nobody in (two merged
    cases restricted to different users); not ``restricted`` and no exclusions is an ordinary case."""

    crn: str
    restricted: bool = False
    restrictions: frozenset[str] = frozenset()
    exclusions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, crn: str, restrictions=(), exclusions=()) -> "LimitedAccess":
        """The rule as the case system states it: restricted when it lists anyone who may see the case."""
        return cls(crn, bool(restrictions), frozenset(restrictions), frozenset(exclusions))

    @property
    def limited(self) -> bool:
        return self.restricted or bool(self.exclusions)

    def may_see(self, user: str) -> bool:
        if user in self.exclusions:
            return False
        return not self.restricted or user in self.restrictions

    def joined(self, other: "LimitedAccess") -> "LimitedAccess":
        """Both rules at once (a merged case keeps the limits of each): excluded by either, and, where either
        restricts, only users both allow."""
        if self.restricted and other.restricted:
            allowed = self.restrictions & other.restrictions
        else:
            allowed = self.restrictions | other.restrictions
        return LimitedAccess(self.crn, self.restricted or other.restricted, allowed, self.exclusions | other.exclusions)


def visible_to(user: str, rules: dict[str, LimitedAccess], crn: str | None) -> bool:
    """Whether ``user`` may see the data of ``crn`` (a crn without a rule is an ordinary case)."""
    rule = rules.get(crn) if crn else None
    return rule is None or rule.may_see(user)
