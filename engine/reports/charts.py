"""Charts as inline SVG (matplotlib, Agg backend, no pyplot state): each with a title and a text description.

Every chart renders, even with nothing to plot (it says so), so a report never has an empty
placeholder. Element ids inside each SVG are prefixed with the chart's name, so several charts can
live in one HTML page without clashing ``clipPath`` references.
"""
from __future__ import annotations

import io
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.dates import DateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, VERMILLION, GREEN, SKY, PURPLE, GREY = (
    "#0072B2", "#E69F00", "#D55E00", "#009E73", "#56B4E9", "#CC79A7", "#999999")
RC = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False, "axes.titlesize": 10, "axes.titleweight": "bold", "legend.frameon": False}


@dataclass(frozen=True)
class Chart:
    name: str          # the placeholder's data-chart attribute
    title: str
    description: str   # alternative text: what the chart shows, in words and numbers
    svg: str


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    with matplotlib.rc_context(RC):
        yield Figure(figsize=(width, height), layout="constrained")


def _finish(fig: Figure, name: str, title: str, description: str) -> Chart:
    buffer = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", bbox_inches="tight",  # legends placed beside the axes stay in
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return Chart(name, title, description, _inline(buffer.getvalue(), name, title, description))


def _inline(svg: str, name: str, title: str, description: str) -> str:
    """Strip the XML prologue, make ids unique to the chart, scale to the page and label it for screen readers."""
    prefix = f"chart-{name}"
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    svg = re.sub(r'(<svg[^>]*?)\swidth="[\d.]+pt" height="[\d.]+pt"',
                 rf'\1 width="100%" style="max-width:{width.group(1) if width else 600}pt;height:auto"', svg, count=1)
    head_end = svg.index(">") + 1
    label = (f'<title id="{prefix}-title">{_escape(title)}</title>'
             f'<desc id="{prefix}-desc">{_escape(description)}</desc>')
    head = svg[:head_end - 1] + f' role="img" aria-labelledby="{prefix}-title {prefix}-desc">'
    return head + label + svg[head_end:]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _title(fig: Figure, title: str) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")


def _empty(ax, message: str = "nothing to show this week") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def _dates(ax) -> None:
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    for label in ax.get_xticklabels():
        label.set_rotation(45)
        label.set_horizontalalignment("right")


def waiting(by_programme: Sequence[dict[str, Any]], at_risk_weeks: int) -> Chart:
    title = "People waiting by programme"
    codes = [r["programme"] for r in by_programme]
    past = [r["past_deadline"] for r in by_programme]
    gone = [r["cannot_finish"] for r in by_programme]
    risk = [r["at_risk"] for r in by_programme]
    rest = [r["waiting"] - r["at_risk"] - r["cannot_finish"] - r["past_deadline"] for r in by_programme]
    with _figure(7, 3.2) as fig:
        ax = fig.add_subplot()
        if codes:
            ax.bar(codes, past, color=VERMILLION, label="deadline passed")
            ax.bar(codes, gone, bottom=past, color=PURPLE, label="cannot finish in time (latest start gone)")
            below = [a + b for a, b in zip(past, gone)]
            ax.bar(codes, risk, bottom=below, color=ORANGE, label=f"at risk (latest start within {at_risk_weeks} weeks)")
            ax.bar(codes, rest, bottom=[a + b for a, b in zip(below, risk)], color=BLUE, label="other waiting")
            ax.set_ylabel("people")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        else:
            _empty(ax, "nobody waiting")
        _title(fig, title)
    described = "; ".join(f"{r['programme']}: {r['waiting']} waiting, {r['at_risk']} at risk, "
                          f"{r['cannot_finish']} cannot finish in time, {r['past_deadline']} past deadline"
                          for r in by_programme) or "nobody waiting"
    return _finish(fig, "waiting", title, f"Stacked bars per programme. {described}.")


def wait_trend(trend: Sequence[dict[str, Any]]) -> Chart:
    title = "Wait from referral to start, last 26 weeks"
    weeks = [r["week_start"] for r in trend]
    with _figure(7, 3.2) as fig:
        ax = fig.add_subplot()
        if any(r["starts"] for r in trend):
            for key, label, colour in (("median_wait_weeks", "median", BLUE), ("p92_wait_weeks", "92nd percentile",
                                                                                ORANGE)):
                ax.plot(weeks, [_nan(r[f"rolling_4w_{key}"]) for r in trend], color=colour,
                        label=f"{label}, starts in the 4 weeks to the week")
                ax.plot(weeks, [_nan(r[key]) for r in trend], linestyle="none", marker="o", markersize=3,
                        color=colour, alpha=0.5, label=f"{label}, starts in the week")
            ax.set_ylabel("weeks waited")
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", fontsize=7)
            _dates(ax)
        else:
            _empty(ax, "no starts in the last 26 weeks")
        _title(fig, title)
    starts = sum(r["starts"] for r in trend)
    last = trend[-1] if trend else {}
    return _finish(fig, "wait-trend", title, f"Lines of the median and 92nd-percentile wait in weeks over a rolling "
                   f"4 weeks, dots per week, for the {starts} people who started in the last 26 weeks; latest "
                   f"rolling median {last.get('rolling_4w_median_wait_weeks', 'n/a')} weeks.")


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def forecast(rows: Sequence[dict[str, Any]]) -> Chart:
    title = "Forecast starts and deadline misses, next 26 weeks"
    weeks = [r["week_start"] for r in rows]
    with _figure(7, 3.2) as fig:
        ax = fig.add_subplot()
        ax.bar(weeks, [r["starts"] for r in rows], width=5, color=BLUE, label="starts (current places)")
        ax.bar(weeks, [-r["misses"] for r in rows], width=5, color=VERMILLION, label="deadline misses (below zero)")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylabel("people per week")
        ax.legend(loc="upper right")
        _dates(ax)
        _title(fig, title)
    starts, misses = sum(r["starts"] for r in rows), sum(r["misses"] for r in rows)
    return _finish(fig, "forecast", title, f"Bars per week: {starts} starts above zero and {misses} forecast "
                   f"deadline misses below zero over the next 26 weeks.")


def capacity(weekly: Sequence[dict[str, Any]]) -> Chart:
    title = "Facilitator hours: demand against capacity, region, next 26 weeks"
    weeks = [r["week_start"] for r in weekly]
    with _figure(7, 3.2) as fig:
        ax = fig.add_subplot()
        if weekly:
            committed = [r["committed_hours"] for r in weekly]
            demand = [r["demand_hours"] for r in weekly]
            ax.fill_between(weeks, 0, committed, step="post", color=SKY, label="committed on live cohorts")
            ax.fill_between(weeks, committed, demand, step="post", color=ORANGE, alpha=0.7,
                            label="groups for people waiting")
            ax.step(weeks, [r["capacity_hours"] for r in weekly], where="post", color="black", linewidth=1.5,
                    label="capacity (trained facilitators)")
            ax.set_ylabel("facilitator hours per week")
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper right")
            _dates(ax)
        else:
            _empty(ax, "no demand and no facilitators")
        _title(fig, title)
    demand = sum(r["demand_hours"] for r in weekly)
    supply = sum(r["capacity_hours"] for r in weekly)
    return _finish(fig, "capacity", title, f"Areas of demand (committed plus waiting) and a line of capacity "
                   f"per week; over 26 weeks demand is {demand:,.0f} h and capacity {supply:,.0f} h.")


def capacity_by_programme(rows: Sequence[dict[str, Any]]) -> Chart:
    title = "Facilitator hours by programme, next 26 weeks"
    codes = [r["programme"] for r in rows]
    with _figure(7, max(2.2, 0.45 * len(codes) + 1)) as fig:
        ax = fig.add_subplot()
        if codes:
            y = range(len(codes))
            ax.barh([i + 0.2 for i in y], [r["demand_hours_26w"] for r in rows], height=0.4, color=ORANGE,
                    label="demand")
            ax.barh([i - 0.2 for i in y], [r["capacity_hours_26w"] for r in rows], height=0.4, color=BLUE,
                    label="capacity")
            ax.set_yticks(list(y), codes)
            ax.invert_yaxis()
            ax.set_xlabel("facilitator hours over 26 weeks")
            ax.legend(loc="lower right")
        else:
            _empty(ax)
        _title(fig, title)
    described = "; ".join(f"{r['programme']}: demand {r['demand_hours_26w']:,.0f} h, capacity "
                          f"{r['capacity_hours_26w']:,.0f} h" for r in rows) or "nothing to show"
    return _finish(fig, "capacity-by-programme", title, f"Paired bars per programme. {described}.")


def cohort_fill(rows: Sequence[dict[str, Any]]) -> Chart:
    title = "Members of live cohorts against their minimum and maximum size"
    with _figure(7, max(2.2, 0.2 * len(rows) + 1)) as fig:
        ax = fig.add_subplot()
        if rows:
            y = list(range(len(rows)))
            colours = [VERMILLION if r["members"] < r["min_size"] else BLUE for r in rows]
            ax.barh(y, [r["members"] for r in rows], color=colours, height=0.7)
            ax.scatter([r["min_size"] for r in rows], y, marker="|", s=120, color="black", label="minimum")
            ax.scatter([r["max_size"] for r in rows], y, marker="|", s=120, color=GREY, label="maximum")
            ax.set_yticks(y, [f"{r['programme']} {r['office']} {r['start_date']:%d %b %y}" for r in rows], fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel("people (red: below minimum)")
            ax.legend(loc="lower right")
        else:
            _empty(ax, "no live cohorts")
        _title(fig, title)
    below = sum(1 for r in rows if r["members"] < r["min_size"])
    return _finish(fig, "cohort-fill", title, f"One bar per live cohort ({len(rows)}), members with minimum and "
                   f"maximum marks; {below} below their minimum size.")


def utilisation(rows: Sequence[dict[str, Any]]) -> Chart:
    title = "Facilitator utilisation, next 12 weeks"
    with _figure(7, 3.2) as fig:
        ax = fig.add_subplot()
        if rows:
            ids = [r["facilitator_id"] for r in rows]
            values = [r["utilisation_pct"] or 0.0 for r in rows]
            ax.bar(ids, values, color=[VERMILLION if r["note"] else BLUE for r in rows])
            ax.axhline(100, color="black", linewidth=0.8, linestyle="--", label="contracted hours")
            ax.set_ylabel("committed / contracted hours (%)")
            ax.legend(loc="upper right")
            for label in ax.get_xticklabels():
                label.set_rotation(60)
                label.set_horizontalalignment("right")
                label.set_fontsize(7)
        else:
            _empty(ax, "no facilitators")
        _title(fig, title)
    over = sum(1 for r in rows if r["note"])
    return _finish(fig, "utilisation", title, f"One bar per facilitator id ({len(rows)}): committed hours as a "
                   f"percentage of contracted hours; {over} overbooked (red).")


def _group_bars(fig: Figure, groups: list[tuple[dict, bool, bool]], values: list[float], colours: list[str],
                overall: float | None, xlabel: str, empty: str, marks: list[tuple[int, float]] = ()) -> None:
    """Horizontal bars, one per group, against the region's value (dashed); ``marks``: (row, value) ticks."""
    ax = fig.add_subplot()
    if not groups:
        _empty(ax, empty)
        return
    y = list(range(len(groups)))
    ax.barh(y, values, color=colours, height=0.7)
    if marks:
        ax.scatter([v for _, v in marks], [i for i, _ in marks], marker="|", color="black", s=60,
                   label="52 weeks before", zorder=3)
    ax.set_yticks(y, [f"{r['dimension']}: {r['group']}" for r, _, _ in groups], fontsize=7)
    ax.invert_yaxis()
    if overall is not None:
        ax.axvline(overall, color="black", linestyle="--", linewidth=0.8, label=f"region {overall:.1f}%")
    if overall is not None or marks:
        ax.legend(loc="lower right")
    ax.set_xlabel(xlabel)


def equity(rows: Sequence[dict[str, Any]], flagged: Sequence[bool], small: Sequence[bool]) -> Chart:
    title = "Forecast deadline miss rate by group, next 26 weeks"
    groups = [(r, f, s) for r, f, s in zip(rows, flagged, small) if r["dimension"] != "all"]
    overall = next((r["miss_rate_pct"] for r in rows if r["dimension"] == "all"), None)
    with _figure(7, max(2.4, 0.2 * len(groups) + 1)) as fig:
        _group_bars(fig, groups, [r["miss_rate_pct"] or 0.0 for r, _, _ in groups],
                    [VERMILLION if f else (GREY if s else BLUE) for _, f, s in groups], overall,
                    "forecast misses / open referrals (%); red: differs, grey: too few to compare", "no open referrals")
        _title(fig, title)
    differs = [f"{r['dimension']} {r['group']}" for r, f, _ in groups if f]
    return _finish(fig, "equity", title, f"Bars of the forecast miss rate per group against the region's "
                   f"{overall if overall is not None else 'n/a'}%; groups flagged as different: "
                   f"{', '.join(differs) or 'none'}.")


def started_in_time(rows: Sequence[dict[str, Any]], flagged: Sequence[bool], small: Sequence[bool]) -> Chart:
    title = "Orders ended in the last 52 weeks that started in time, by group"
    groups = [(r, f, s) for r, f, s in zip(rows, flagged, small)
              if r["dimension"] != "all" and r["started_in_time_pct"] is not None]
    overall = next((r["started_in_time_pct"] for r in rows if r["dimension"] == "all"), None)
    behind = [f and r["started_diff_points"] is not None and r["started_diff_points"] < 0 for r, f, _ in groups]
    with _figure(7, max(2.4, 0.2 * len(groups) + 1)) as fig:
        _group_bars(fig, groups, [r["started_in_time_pct"] for r, _, _ in groups],
                    [VERMILLION if b else (GREY if r["orders_ended_52w"] < 10 else BLUE)
                     for (r, _, _), b in zip(groups, behind)], overall,
                    "started in time / orders ended (%); red: flagged, grey: fewer than 10 orders ended",
                    "no order ended in the last 52 weeks",
                    [(i, r["started_year_before_pct"]) for i, (r, _, _) in enumerate(groups)
                     if r["started_year_before_pct"] is not None])
        _title(fig, title)
    named = [f"{r['dimension']} {r['group']} ({r['started_in_time_pct']:.1f}%)" for (r, _, _), b in zip(groups, behind) if b]
    return _finish(fig, "started-in-time", title, f"Bars of the share of orders ended in the last 52 weeks that "
                   f"started a programme in time, per group, against the region's "
                   f"{overall if overall is not None else 'n/a'}%, with the 52 weeks before marked; groups trailing "
                   f"the region by more than 10 points: {', '.join(named) or 'none'}.")
