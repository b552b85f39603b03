"""Classification: rule files, their conditions, and the kind each message gets."""
