"""Synthetic event generator: a calibrated region's sentence, referral and delivery history as JSONL.

``generate(GeneratorParams(), "events.jsonl")`` writes the default Region S run (CALIBRATION.md).
"""
from engine.generator.params import PROGRAMME_MIXES, GeneratorParams, Variant
from engine.generator.writer import GenerationSummary, generate

__all__ = ["GeneratorParams", "GenerationSummary", "PROGRAMME_MIXES", "Variant", "generate"]
