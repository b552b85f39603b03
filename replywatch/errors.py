"""The one hierarchy of replywatch errors; only the CLI turns them into exit codes."""


class ReplywatchError(Exception):
    """Base of every error replywatch raises on purpose; its message is shown to the user."""


class ConfigError(ReplywatchError):
    """The configuration file or an environment override is missing or wrong."""


class ParseError(ReplywatchError):
    """A message, lead file or document could not be read; the item is quarantined."""


class UnsafeXMLError(ParseError):
    """An XML document uses DTDs or entities; refused without expanding anything."""


class LeadFileError(ReplywatchError):
    """A leads CSV has a bad row; nothing from that file is imported."""

    def __init__(self, path: str, line: int, column: str | None, reason: str) -> None:
        where = f"{path}:{line}" + (f" column {column!r}" if column else "")
        super().__init__(f"{where}: {reason}")
        self.line = line
        self.column = column


class RulesError(ReplywatchError):
    """A rules file is invalid; the message names file and line."""


class StoreError(ReplywatchError):
    """The database failed mid-work (connection lost, disk full); nothing uncommitted was kept."""


class SourceError(ReplywatchError):
    """A source could not be read."""


class TransientSourceError(SourceError):
    """Worth retrying later: a dropped connection, a timeout, a locked file."""


class PermanentSourceError(SourceError):
    """Retrying will not help (bad credentials, missing path): the source stops until fixed."""


def describe(exc: BaseException) -> str:
    """What went wrong, as the quarantine and `status` say it: our errors in their own words, any other
    with its type (it is a bug or a surprise, and the type is half of what it says)."""
    if isinstance(exc, ReplywatchError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def first_line(exc: BaseException) -> str:
    """An error in one line for a log or a status: its message's first line, else its type's name."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
