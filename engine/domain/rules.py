"""The engine's rules and thresholds: the policy knobs that handlers, planning, the plan gate, alerts and
reports share. Built once at the composition root (engine/bootstrap.py) from the settings; tests build their
own. The holiday calendar is a plain ``is_holiday(day)`` callable: by default the England and Wales bank
holidays, which :mod:`engine.calendars` adapts from the ``holidays`` package (the domain never imports that
package itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.calendars import england_and_wales_bank_holidays
from engine.domain.programmes import Catalogue, load_catalogue


@dataclass
class EngineRules:
    """Policy knobs the engine shares (from settings, passed in at the composition root)."""

    deadline_margin_days: int = 14
    freeze_days: int = 14
    catalogue: Catalogue = field(default_factory=load_catalogue)
    is_holiday: object = field(default_factory=england_and_wales_bank_holidays)
