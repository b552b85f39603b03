"""Ingesting: the poll loop, the pure preparation of items, storing a batch, leads and the directory."""
