"""Persistence: engine, typed models, migrations and every write; the types callers name sessions by."""

from sqlalchemy.orm import Session, sessionmaker

Sessions = sessionmaker[Session]  # what opens a unit of work; callers outside store/ name it by this

__all__ = ["Session", "Sessions"]
