"""Eligibility and priority policies, as pure functions of assessment data.

They follow the national programme needs identifier and prioritisation framework (CALIBRATION.md,
"Risk bands"; REFERENCE.md, "Eligibility derivations"). Keeping them pure means the waiting list,
the solver input and the reports all derive bands, pathways and priority the same way.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from engine.domain.errors import DomainError

__all__ = [
    "RiskBand", "NeedBand", "Pathway", "OffenceCohort", "risk_band", "need_band", "pathway",
    "offence_cohort", "is_ldc", "deadline", "priority_key", "LDC_SUBTOTAL_THRESHOLD",
]


class RiskBand(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


NeedBand = RiskBand  # the same three bands; an alias keeps signatures readable


class Pathway(StrEnum):
    HIGH = "HIGH"                # high intensity
    MODERATE = "MODERATE"        # moderate intensity
    ALTERNATIVE = "ALTERNATIVE"  # not eligible for an accredited programme


class OffenceCohort(StrEnum):
    GENERAL_OFFENCE = "GENERAL_OFFENCE"
    SEXUAL_OFFENCE = "SEXUAL_OFFENCE"


_RANK = {RiskBand.HIGH: 0, RiskBand.MEDIUM: 1, RiskBand.LOW: 2}

# (high from, medium from) per actuarial score; below "medium from" is LOW.
_OGRS3 = (75.0, 50.0)
_OVP = (60.0, 30.0)
_RSR = (3.0, 1.0)

LDC_SUBTOTAL_THRESHOLD = 3

# Values upstream systems use to say a sexual-offending predictor does not apply to the person.
_NOT_APPLICABLE = {"", "NONE", "NOT_APPLICABLE", "N_A", "NA"}


def risk_band(
    ogrs3: float | None = None,
    ovp: float | None = None,
    rsr: float | None = None,
    osp: str | None = None,
    sara: str | None = None,
) -> RiskBand:
    """Overall risk band: the highest band any supplied predictor gives.

    With no predictor at all this raises rather than answering LOW: a missing assessment is
    "missing information", and treating it as low risk would quietly push someone down the list.
    """
    bands = [
        _scored("OGRS3", ogrs3, _OGRS3, 100.0),
        _scored("OVP", ovp, _OVP, 100.0),
        _scored("RSR", rsr, _RSR, 100.0),
        _stated("OSP", osp),
        _stated("SARA", sara),
    ]
    given = [band for band in bands if band is not None]
    if not given:
        raise DomainError("no risk predictor supplied (OGRS3, OVP, RSR, OSP or SARA): risk band unknown")
    return min(given, key=_RANK.__getitem__)


def _scored(name: str, score: float | None, cuts: tuple[float, float], top: float) -> RiskBand | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= top:
        raise DomainError(f"{name} must be a number from 0 to {top:g}, got {score!r}")
    high_from, medium_from = cuts
    if score >= high_from:
        return RiskBand.HIGH
    return RiskBand.MEDIUM if score >= medium_from else RiskBand.LOW


def _stated(name: str, level: str | None) -> RiskBand | None:
    """OSP/SARA levels as assessors state them ("High", "VERY_HIGH", "medium"...)."""
    if level is None:
        return None
    key = _normalise(level)
    if key == "VERY_HIGH":
        return RiskBand.HIGH
    try:
        return RiskBand(key)
    except ValueError:
        raise DomainError(f"{name} must be HIGH, MEDIUM or LOW, got {level!r}") from None


def _normalise(text: object) -> str:
    if not isinstance(text, str):
        raise DomainError(f"expected a level such as 'HIGH', got {text!r}")
    return text.strip().upper().replace(" ", "_").replace("-", "_").replace("/", "_")


def need_band(score: int) -> NeedBand:
    """Need score 0-2 LOW, 3-5 MEDIUM, 6-8 HIGH."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 8:
        raise DomainError(f"need score must be a whole number from 0 to 8, got {score!r}")
    if score >= 6:
        return RiskBand.HIGH
    return RiskBand.MEDIUM if score >= 3 else RiskBand.LOW


def pathway(risk: str, need: str) -> Pathway:
    """High risk and high need → high intensity; any LOW → alternative (not eligible); else moderate."""
    risk_, need_ = _band("risk", risk), _band("need", need)
    if RiskBand.LOW in (risk_, need_):
        return Pathway.ALTERNATIVE
    if risk_ is RiskBand.HIGH and need_ is RiskBand.HIGH:
        return Pathway.HIGH
    return Pathway.MODERATE


def _band(what: str, value: str) -> RiskBand:
    try:
        return RiskBand(value)
    except ValueError:
        raise DomainError(f"{what} band must be HIGH, MEDIUM or LOW, got {value!r}") from None


def offence_cohort(osp: str | None = None, sexual_domain_score: int = 0) -> OffenceCohort:
    """SEXUAL_OFFENCE when a sexual-reoffending predictor (OSP) applies at any level, or any
    sex-domain score is above zero; otherwise GENERAL_OFFENCE."""
    if isinstance(sexual_domain_score, bool) or not isinstance(sexual_domain_score, int) \
            or sexual_domain_score < 0:
        raise DomainError(f"sexual domain score must be a whole number >= 0, got {sexual_domain_score!r}")
    osp_applies = osp is not None and _normalise(osp) not in _NOT_APPLICABLE
    if osp_applies or sexual_domain_score > 0:
        return OffenceCohort.SEXUAL_OFFENCE
    return OffenceCohort.GENERAL_OFFENCE


def is_ldc(ldc_subtotal: int) -> bool:
    """LDC (learning disability or challenges) when the needs assessment's LDC subtotal is >= 3."""
    if isinstance(ldc_subtotal, bool) or not isinstance(ldc_subtotal, int) or ldc_subtotal < 0:
        raise DomainError(f"LDC subtotal must be a whole number >= 0, got {ldc_subtotal!r}")
    return ldc_subtotal >= LDC_SUBTOTAL_THRESHOLD


def deadline(requirement_end: date | None, sentence_end: date) -> date:
    """The date the programme must be finished by: the requirement's end when the court set one
    earlier than the sentence, never later than the sentence itself."""
    if requirement_end is None:
        return sentence_end
    return min(requirement_end, sentence_end)


def priority_key(risk_band: str, deadline: date, referred_on: date) -> tuple[int, date, date]:
    """Sort key for the waiting list: highest risk first, then earliest deadline, then longest wait."""
    return (_RANK[_band("risk", risk_band)], deadline, referred_on)
