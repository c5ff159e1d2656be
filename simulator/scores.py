"""Risk and need scores of an assessment, consistent with the programme variant referred to.

Risk and need bands are drawn from a Gaussian copula (correlation ``risk_need_correlation``).
High-intensity variants (BC-H, Kaizen, Becoming New Me+) are high risk and high need by
definition. A high-risk/high-need draw on a moderate variant has its need lowered to MEDIUM, so
moderate variants draw from marginals solved for (:func:`moderate_marginals`) that make the overall
shares match ``risk_shares`` and ``need_shares`` after both adjustments. Scores are then drawn so
the highest predictor band equals the risk band (thresholds as in CALIBRATION.md and
:mod:`engine.domain.policies`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from datetime import date
from statistics import NormalDist

from engine.events import inbound as i
from simulator.params import Variant
from simulator.region import World

BANDS = ("LOW", "MEDIUM", "HIGH")  # ascending
SCORE_RANGES = {
    "ogrs3": {"LOW": (5.0, 49.9), "MEDIUM": (50.0, 74.9), "HIGH": (75.0, 99.0)},
    "ovp": {"LOW": (1.0, 29.9), "MEDIUM": (30.0, 59.9), "HIGH": (60.0, 95.0)},
    "rsr": {"LOW": (0.05, 0.99), "MEDIUM": (1.0, 2.99), "HIGH": (3.0, 9.99)},
}
SCORE_DECIMALS = {"ogrs3": 1, "ovp": 1, "rsr": 2}
NEED_SCORES = {"LOW": (0, 2), "MEDIUM": (3, 5), "HIGH": (6, 8)}
PROGRAMME_MIN_OGRS3_BAND = {"TSP": "MEDIUM"}  # Thinking Skills needs OGRS3 >= 50
SARA_PROGRAMMES = frozenset({"BBR"})  # intimate-partner violence: SARA is scored
_N = NormalDist()


@dataclass(frozen=True)
class Assessment:
    risk: str
    need: str
    scores: dict[str, object]

    def payload(self, variant: Variant, referral_id: str, crn: str, outcome: str,
                ready_from: date | None = None) -> i.ReferralAssessed:
        return i.ReferralAssessed(
            referral_id=referral_id, crn=crn, outcome=outcome, pathway=variant.pathway,
            offence_cohort=variant.offence_cohort, ldc=variant.ldc, ready_from=ready_from, **self.scores)


def draw_assessment(rng: random.Random, world: World, variant: Variant) -> Assessment:
    risk, need = _bands(rng, world, variant)
    floor = PROGRAMME_MIN_OGRS3_BAND.get(variant.programme_code, "LOW")
    risk = max(risk, floor, key=BANDS.index)
    scores = _predictors(rng, risk, variant, floor)
    scores["need_score"] = rng.randint(*NEED_SCORES[need])
    return Assessment(risk, need, scores)


def _bands(rng: random.Random, world: World, variant: Variant) -> tuple[str, str]:
    if variant.pathway == "HIGH":
        return "HIGH", "HIGH"
    p = world.params
    risk_shares, need_shares = moderate_marginals(p.risk_shares, p.need_shares, p.risk_need_correlation,
                                                  round(world.high_pathway_share, 9))
    z_risk = rng.gauss(0.0, 1.0)
    z_need = p.risk_need_correlation * z_risk + (1 - p.risk_need_correlation ** 2) ** .5 * rng.gauss(0.0, 1.0)
    risk, need = _band(z_risk, risk_shares), _band(z_need, need_shares)
    return risk, ("MEDIUM" if risk == need == "HIGH" else need)


@cache
def moderate_marginals(risk: tuple[tuple[str, float], ...], need: tuple[tuple[str, float], ...], rho: float,
                       high_pathway: float) -> tuple[dict[str, float], dict[str, float]]:
    """Band shares to draw moderate referrals from so overall shares come out as configured.

    High-pathway referrals are all HIGH/HIGH; among moderate ones HIGH/HIGH draws lose their HIGH
    need, so the need draw over-weights HIGH by exactly the mass that is moved to MEDIUM.
    """
    rest = max(1e-9, 1 - high_pathway)
    r = {b: max(0.0, dict(risk)[b] - (high_pathway if b == "HIGH" else 0.0)) / rest for b in BANDS}
    n = {b: max(0.0, dict(need)[b] - (high_pathway if b == "HIGH" else 0.0)) / rest for b in BANDS}
    lo, hi = n["HIGH"], 1 - n["LOW"]
    for _ in range(40):  # bisection: HIGH share before the downgrade that leaves n["HIGH"] after it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid - _both_high(r["HIGH"], mid, rho) < n["HIGH"] else (lo, mid)
    both = _both_high(r["HIGH"], lo, rho)
    drawn = {"HIGH": lo, "MEDIUM": max(0.0, n["MEDIUM"] - both), "LOW": n["LOW"]}
    total = sum(drawn.values())
    return r, {b: s / total for b, s in drawn.items()}


def _both_high(p_risk: float, p_need: float, rho: float, steps: int = 400) -> float:
    """P(both standard normals exceed their upper-tail cut-offs) for correlation ``rho``."""
    if p_risk <= 0 or p_need <= 0:
        return 0.0
    a, b = _N.inv_cdf(1 - p_risk), _N.inv_cdf(1 - min(p_need, 1 - 1e-12))
    width, top = 1 - rho * rho, 8.0
    h = (top - a) / steps
    total = 0.0
    for k in range(steps + 1):
        z = a + k * h
        weight = 1 if k in (0, steps) else 4 if k % 2 else 2
        total += weight * _N.pdf(z) * (1 - _N.cdf((b - rho * z) / width ** .5))
    return total * h / 3


def _band(z: float, shares: dict[str, float]) -> str:
    u, cumulative = _N.cdf(z), 0.0
    for band in BANDS:
        cumulative += shares[band]
        if u < cumulative:
            return band
    return BANDS[-1]


def _predictors(rng: random.Random, risk: str, variant: Variant, ogrs3_floor: str) -> dict[str, object]:
    """Scores whose highest band is ``risk``: one predictor sits in it, the others at or below."""
    names = ["ogrs3", "ovp", "rsr"]
    stated = (["osp"] if variant.offence_cohort == "SEXUAL_OFFENCE" else []) + \
        (["sara"] if variant.programme_code in SARA_PROGRAMMES else [])
    candidates = names + stated
    driver = "ogrs3" if ogrs3_floor == risk else rng.choice(candidates)
    top = BANDS.index(risk)
    scores: dict[str, object] = {}
    for name in candidates:
        lowest = BANDS.index(ogrs3_floor) if name == "ogrs3" else 0
        band = risk if name == driver else BANDS[rng.randint(min(lowest, top), top)]
        if name in SCORE_RANGES:
            low, high = SCORE_RANGES[name][band]
            scores[name] = round(rng.uniform(low, high), SCORE_DECIMALS[name])
        else:
            scores[name] = band
    return scores
