"""The report as one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from engine.reports.build import Report
from engine.reports.tables import Table


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    unit: str
    detail: str
    tone: str = ""          # "alert" draws attention
    change: str = ""        # against the previous report


_ENV = Environment(loader=PackageLoader("engine.reports", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report, previous: dict[str, Any] | None = None, csv_names: dict[str, str] | None = None) -> str:
    """The HTML page; ``csv_names`` maps table names to the CSV file each table is also written to."""
    template = _ENV.get_template("weekly.html.j2")
    return template.render(report=report, cards=cards(report, previous), csv_names=csv_names or {},
                           table_id=_table_id)


def cards(report: Report, previous: dict[str, Any] | None = None) -> list[Card]:
    """The first screen: what a planner needs to know before reading further."""
    h = report.headline
    before = (previous or {}).get("headline", {})

    def change(key: str) -> str:
        if key not in before or before[key] is None or h.get(key) is None:
            return ""
        delta = round(h[key] - before[key], 1)
        return f"{delta:+,g} since {previous['as_of']}" if delta else f"no change since {previous['as_of']}"

    return [
        Card("People waiting", f"{h['waiting']:,}", "people", f"{h['past_deadline']:,} of them past their deadline",
             change=change("waiting")),
        Card("At risk", f"{h['at_risk']:,}", "people", f"latest start within {report.at_risk_weeks} weeks; {h['cannot_finish']:,} more "
             "can no longer finish in time", "alert" if h["at_risk"] or h["cannot_finish"] else "", change("at_risk")),
        Card("Forecast deadline misses", f"{h['forecast_misses_26w']:,}", "people, next 26 weeks",
             f"{h['forecast_starts_26w']:,} starts forecast on current places",
             "alert" if h["forecast_misses_26w"] else "", change("forecast_misses_26w")),
        Card("Wait to start", _num(h["median_wait_weeks"]), "weeks, median",
             f"92nd percentile {_num(h['p92_wait_weeks'])} weeks; {h['starts_26w']:,} starts in the last 26 weeks",
             change=change("median_wait_weeks")),
        Card("Capacity gap", f"{h['capacity_shortfall_hours_26w']:,.0f}", "facilitator hours short, next 26 weeks",
             f"≈ {_num(h['capacity_shortfall_fte'])} FTE; needed {h['capacity_demand_hours_26w']:,.0f} h, available "
             f"{h['capacity_hours_26w']:,.0f} h", "alert" if h["capacity_shortfall_hours_26w"] else "",
             change("capacity_shortfall_hours_26w")),
        Card("Cohorts", f"{h['cohorts_to_open']:,}", "to open (proposed by the plan)",
             f"{h['live_cohorts']:,} live, {h['cohorts_below_min']:,} below minimum size; "
             f"{h['facilitators_overbooked']:,} facilitators overbooked", change=change("cohorts_to_open")),
    ]


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _table_id(table: Table) -> str:
    return f"table-{table.name}"
