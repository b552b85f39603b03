"""`init`, `db upgrade`, `rules check` and `demo`: getting a dealership set up."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import typer

from replywatch.cli.context import console, err_console, runtime
from replywatch.errors import ReplywatchError

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
rules_app = typer.Typer(help="Classification rules.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
    app.add_typer(db_app, name="db")
    app.add_typer(rules_app, name="rules")
    db_app.command("upgrade")(db_upgrade)
    rules_app.command("check")(rules_check)


def init(
    directory: Path = typer.Argument(Path("."), help="Where to write replywatch.toml and rules/."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing replywatch.toml."),
) -> None:
    """Write a commented starter replywatch.toml and the default rules/."""
    from replywatch.classify.rules import default_rules_dir
    from replywatch.cli.starter import STARTER_CONFIG

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "replywatch.toml"
    if config.exists() and not force:
        raise ReplywatchError(f"{config} already exists (use --force to overwrite)")
    config.write_text(STARTER_CONFIG, encoding="utf-8")
    rules = directory / "rules"
    rules.mkdir(exist_ok=True)
    shipped = [*sorted(default_rules_dir().glob("*.toml")), default_rules_dir() / "README.md"]
    for src in shipped:  # the README is the format every rule file points to
        if not (rules / src.name).exists():
            shutil.copyfile(src, rules / src.name)
    program = _invocation()
    console.print(
        f"wrote {config} and {rules}/: edit the stores and associates, uncomment a source, then run:"
    )
    console.print(f"  {program} status --config {config}")
    console.print(f"  {program} poll --once --config {config}")


def db_upgrade(ctx: typer.Context) -> None:
    """Upgrade the database schema to the current version (also done on first use), and sync the
    configured stores and associates into it."""
    from replywatch.store import db

    rt = runtime(ctx)
    engine = db.make_engine(rt.settings.database.url)
    db.upgrade(engine)
    rt.directory()
    with db.reachable(engine):
        console.print(f"database at revision {', '.join(sorted(db.current_revisions(engine)))}")


def rules_check(
    ctx: typer.Context,
    directory: Path | None = typer.Argument(None, help="Rules folder (default: the configured one)."),
) -> None:
    """Validate rules/*.toml; exits non-zero with file:line for each error."""
    from replywatch.classify.rules import check_rules, load_rules

    folder = directory or runtime(ctx).rules_dir()
    errors = check_rules(folder)
    for line in errors:
        err_console.print(line, highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(1)
    console.print(f"{folder}: {len(load_rules(folder).rules)} rules, all valid")


def demo(
    directory: Path = typer.Option(Path("demo"), "--dir", help="Folder for the sample dealership."),
    seed: int = typer.Option(7, help="Random seed of the sample data."),
) -> None:
    """Build a sample dealership (Maildir, SMS CSV, config), run the pipeline on SQLite, show contact."""
    from replywatch.classify.rules import default_rules_dir, load_rules
    from replywatch.cli.summary import print_summary
    from replywatch.clock import now
    from replywatch.config import load_settings
    from replywatch.demo import write_sample_dealership
    from replywatch.digest.render import write_preview
    from replywatch.digest.scope import latest_complete_week
    from replywatch.ingest.directory import open_directory
    from replywatch.ingest.pipeline import Pipeline
    from replywatch.sources.factory import build_source
    from replywatch.store.db import open_database

    began = time.monotonic()
    _clear_previous_demo(directory)
    sample = write_sample_dealership(directory, seed=seed)
    settings = load_settings(sample.config_path)
    _, sessions = open_database(settings.database.url)
    pipeline = Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings)
    )
    for cfg in settings.sources:
        result = pipeline.poll(build_source(cfg))
        counts = f"{result.stored} items stored, {result.leads} leads, {result.quarantined} quarantined"
        console.print(f"{cfg.name}: {counts}")
    with sessions() as session:
        print_summary(session)
        week, preview = latest_complete_week(session, settings, now()), directory / "digest-preview.html"
        write_preview(session, settings, week, preview, now())
    console.print(f"digest of the week of {week.isoformat()}: {preview}", highlight=False)
    console.print(
        f"sample dealership in {directory}/ (config {sample.config_path}); {time.monotonic() - began:.1f} s"
    )
    program = f"{_invocation()} --config {sample.config_path}"
    console.print(f"try: {program} contacts export")
    console.print(f"     {program} review list    (replies only a person can place)")


def _clear_previous_demo(directory: Path) -> None:
    """A previous demo's database is removed (the generator rewrites its mail); anything else is refused."""
    if not directory.exists() or not any(directory.iterdir()):
        return
    if not (directory / "replywatch.toml").exists() or not (directory / "mail").is_dir():
        raise ReplywatchError(f"{directory} is not empty and holds no earlier demo; choose another --dir")
    for leftover in directory.glob("replywatch.db*"):
        leftover.unlink()


def _invocation() -> str:
    """How the user can call replywatch again: by name when it is on PATH, else by its path."""
    program = Path(sys.argv[0])
    if shutil.which("replywatch") or program.name != "replywatch":
        return "replywatch"
    try:
        return str(program.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(program)
