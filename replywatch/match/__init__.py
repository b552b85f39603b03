"""Matching messages to leads: normalization, candidate look-ups, scoring and the decision."""
