"""Application services: ingest events, plan, and replay files — the engine's use cases."""
