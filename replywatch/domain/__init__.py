"""The domain's vocabulary and rules: kinds, directions, identities, contact, business hours; pure, no I/O."""
