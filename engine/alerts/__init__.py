"""Alerts for ops staff: rules (pure functions of state and a date), their lifecycle, and sinks."""
