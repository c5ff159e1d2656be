"""Registries of the hard rules. Each rule is one module named after it, with one test file.

* pair rules decide which referral × cohort place variables exist;
* staff rules decide which facilitator × candidate variables exist;
* model constraints link the variables.
"""
from __future__ import annotations

from solver.constraints.absences import allows_absences
from solver.constraints.availability import allows_availability
from solver.constraints.deadline import allows_deadline
from solver.constraints.double_booking import add_double_booking
from solver.constraints.facilitator_count import add_facilitator_count
from solver.constraints.facilitator_hours import add_facilitator_hours
from solver.constraints.focus import add_focus
from solver.constraints.intake import allows_intake
from solver.constraints.keep_published import add_keep_published
from solver.constraints.max_size import add_max_size
from solver.constraints.min_size import add_min_size
from solver.constraints.move_cap import add_move_cap
from solver.constraints.non_associations import (
    add_non_associations,
    allows_non_association,
)
from solver.constraints.office import allows_office
from solver.constraints.one_cohort import add_one_cohort
from solver.constraints.overrides import add_overrides, allows_override
from solver.constraints.pinned import add_pinned
from solver.constraints.programme import allows_programme
from solver.constraints.ready import allows_ready
from solver.constraints.rooms import add_rooms
from solver.constraints.sex import allows_sex
from solver.constraints.staff_availability import allows_staff_availability
from solver.constraints.trained import allows_trained

PAIR_RULES = {
    "programme": allows_programme,
    "sex": allows_sex,
    "intake": allows_intake,
    "office": allows_office,
    "availability": allows_availability,
    "ready": allows_ready,
    "deadline": allows_deadline,
    "non_associations": allows_non_association,
    "overrides": allows_override,
}

STAFF_RULES = {
    "trained": allows_trained,
    "absences": allows_absences,
    "staff_availability": allows_staff_availability,
}

CONSTRAINTS = {
    "one_cohort": add_one_cohort,
    "max_size": add_max_size,
    "min_size": add_min_size,
    "facilitator_count": add_facilitator_count,
    "facilitator_hours": add_facilitator_hours,
    "double_booking": add_double_booking,
    "rooms": add_rooms,
    "non_associations": add_non_associations,
    "pinned": add_pinned,
    "keep_published": add_keep_published,
    "move_cap": add_move_cap,
    "focus": add_focus,
    "overrides": add_overrides,
}
