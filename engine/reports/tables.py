"""Report tables: one model rendered both as CSV and as HTML, so the two always show the same numbers."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    label: str          # what the HTML header says, with its unit
    numeric: bool = False
    wrap: bool = False  # long text: may wrap in the HTML (other cells keep to one line)


@dataclass(frozen=True)
class Table:
    name: str                                   # the CSV is ``weekly-<as_of>-<name>.csv``
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    caption: str = ""
    collapsed: bool = False                     # long detail: folded in the HTML (all rows still there)
    highlight: tuple[bool, ...] = field(default=())  # per row: draw attention to it

    def header(self) -> list[str]:
        return [c.key for c in self.columns]

    def cells(self) -> list[list[str]]:
        return [[cell(row.get(c.key)) for c in self.columns] for row in self.rows]

    def highlighted(self, index: int) -> bool:
        return bool(self.highlight) and self.highlight[index]


def cell(value: Any) -> str:
    """The one text form of a value, for CSV and HTML alike."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def columns(*specs: tuple[str, str] | tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


def write_csv(table: Table, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.header())
        writer.writerows(table.cells())
    return path
