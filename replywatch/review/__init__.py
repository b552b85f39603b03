"""The review queue: doubtful matches as people see them, and their decisions."""
