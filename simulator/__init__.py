"""Synthetic event generator: a calibrated region's sentence, referral and delivery history as JSONL.

``generate(GeneratorParams(), "events.jsonl")`` writes the default Region S run (CALIBRATION.md). The simulator
(this generator, its `demo`, and their commands in simulator.cli) may import the engine; the engine never imports it.
"""
from simulator.params import PROGRAMME_MIXES, GeneratorParams, Variant
from simulator.writer import GenerationSummary, generate

__all__ = ["GeneratorParams", "GenerationSummary", "PROGRAMME_MIXES", "Variant", "generate"]
