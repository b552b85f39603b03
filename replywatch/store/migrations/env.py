"""Alembic environment: the engine comes from replywatch; batch mode so SQLite can alter tables."""

from alembic import context
from sqlalchemy import create_engine, text

from replywatch.store.models import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK = 0x7277_6D69  # "rwmi": the advisory lock key replywatch migrations hold on PostgreSQL


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Two daemons starting on a new database: one migrates, the other waits, then finds it done.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
        connection.commit()


run_migrations_online()
