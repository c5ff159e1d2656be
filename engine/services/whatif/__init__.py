"""What-if planning (being split into one module per job; the code is in :mod:`.apply` for now)."""
from engine.services.whatif.apply import (
    Base,
    Scenario,
    WhatIfError,
    apply_scenario,
    compare,
    measure,
    parse_counts,
    parse_venues,
    read_base,
    run_sweep,
    run_whatif,
    split_fte,
    sweep_fte,
)

__all__ = [
    "Base", "Scenario", "WhatIfError", "apply_scenario", "compare", "measure", "parse_counts", "parse_venues",
    "read_base", "run_sweep", "run_whatif", "split_fte", "sweep_fte",
]
