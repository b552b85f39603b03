"""Persistence: engine, typed models, migrations and the repository boundary."""
