"""Fences: the right of one worker at a time to plan a re-plan partition's regions (issue 16 scenario 7).

A fence is a generation in the engine state (``fence:<name>``) that grows each time another holder takes it.
:class:`~engine.services.planning.Planner` snapshots carry the fence held when they were read, and a publish
under a generation the database has moved past is refused with :class:`Stale` (see the planning module's
docstring); each published plan records its fence (``plan_owner:<version>``, :func:`plan_owners`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from engine import state_keys as keys
from engine.ports import UnitOfWork


@dataclass(frozen=True)
class Fence:
    """The right to plan some regions (those of one re-plan partition), as taken from the database: ``name``
    (``replan:<partition>``), the ``generation`` it was taken at, and its ``holder`` (a worker id)."""

    name: str
    generation: int
    holder: str

    def as_json(self) -> str:
        return json.dumps(dict(generation=self.generation, holder=self.holder))


class Stale(RuntimeError):
    """The region was planned by someone else since the snapshot, or its planner no longer holds the region's
    fence: nothing was published."""


def take_fence(uow: UnitOfWork, name: str, holder: str, held: int | None = None) -> Fence:
    """Take the fence ``name`` for ``holder`` and commit: kept at its generation when ``holder`` already holds it
    at ``held`` (nobody took it in between), else the next generation. From then on a plan under an older
    generation is refused (:meth:`Planner.publish`)."""
    uow.lock_writes()
    stored = current_fence(uow, name)
    if stored is not None and stored.holder == holder and stored.generation == held:
        return stored
    fence = Fence(name, (stored.generation if stored else 0) + 1, holder)
    uow.set_state(keys.FENCE.key(name), fence.as_json())
    uow.commit()
    return fence


def current_fence(uow: UnitOfWork, name: str) -> Fence | None:
    value = uow.get_state(keys.FENCE.key(name))
    if not value:
        return None
    data = json.loads(value)
    return Fence(name, int(data["generation"]), data["holder"])


def plan_owners(uow: UnitOfWork) -> dict[int, dict]:
    """Plan version → the fence it was published under (region, fence, generation, holder): fenced plans only."""
    return {int(keys.PLAN_OWNER.parts(name)[0]): json.loads(value)
            for name, value in uow.states(keys.PLAN_OWNER.prefix).items()}
