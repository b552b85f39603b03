"""Typed settings from replywatch.toml plus REPLYWATCH_* environment overrides; secrets by *_env / *_file."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from replywatch.domain.events import EVENT_TYPES
from replywatch.errors import ConfigError

DEFAULT_CONFIG = "replywatch.toml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SECRET_KEYS = {"password", "auth_token", "api_secret", "client_secret", "refresh_token", "secret"}
_HOURS_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///replywatch.db"


OpenHours = tuple[time, time] | None


def parse_hours(day: str, text: str) -> OpenHours:
    """`"09:00-20:00"` → (09:00, 20:00); `"closed"` → None. `24:00` means end of day."""
    if text.strip().lower() == "closed":
        return None
    m = _HOURS_RE.match(text.strip())
    if not m:
        raise ValueError(f"{day}: expected HH:MM-HH:MM or closed, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start = time(h1, m1)
    end = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
    if end <= start:
        raise ValueError(f"{day}: closing time must come after opening time in {text!r}")
    return (start, end)


class StoreConfig(_Strict):
    name: str
    timezone: str = "America/Chicago"
    region: str = "US"
    hours: dict[str, str] = Field(default_factory=lambda: {d: "09:00-20:00" for d in DAYS})
    digest_recipients: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, text in value.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
            parse_hours(day, text)
        return value

    def opening_hours(self) -> dict[int, OpenHours]:
        """Weekday number (Monday 0) → open interval, closed days None; unlisted days closed."""
        return {i: parse_hours(d, self.hours[d]) if d in self.hours else None for i, d in enumerate(DAYS)}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AssociateConfig(_Strict):
    name: str
    store: str
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)


class SecretMixin(_Strict):
    """A secret is named by an environment variable (`*_env`) or a file (`*_file`), never inline."""

    @staticmethod
    def read_secret(label: str, env: str | None, file: str | None) -> str | None:
        if env:
            value = os.environ.get(env)
            if value is None:
                raise ConfigError(f"{label}_env: environment variable {env} is not set")
            return value
        if file:
            try:
                return Path(file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{label}_file: cannot read {file}: {exc.strerror}") from None
        return None

    def secret_values(self) -> list[str]:
        """Every secret this table names (`*_env`, `*_file`), read now; one that cannot be read is given
        as the reason instead, so that fixing it still changes what this returns."""
        found = []
        for name, value in self:
            if isinstance(value, str) and value and name.endswith(("_env", "_file")):
                label = name.rsplit("_", 1)[0]
                env, file = (value, None) if name.endswith("_env") else (None, value)
                try:
                    found.append(self.read_secret(label, env, file) or "")
                except ConfigError as exc:
                    found.append(f"unreadable: {exc}")
        return found


class SourceBase(_Strict):
    """What every source table has: its name, the store it reads for, how often it is polled (s)."""

    name: str
    store: str | None = None  # the store of leads whose notice names none, whose region reads numbers
    interval: int = 60


class FileSourceBase(SourceBase):
    """A source read from a file or folder; a relative `path` is taken from the config file's folder."""

    path: str


class ImapSourceConfig(SourceBase, SecretMixin):
    """An IMAP lead inbox: implicit TLS or STARTTLS (plain text only to loopback or when insecure),
    a password or XOAUTH2 with a refresh token, and INBOX plus the sent folder unless `folders` says."""

    type: Literal["imap"]
    host: str
    port: int | None = None  # default 993 with tls, 143 otherwise
    tls: bool = True
    starttls: bool = False  # STARTTLS on a plain port; takes precedence over tls
    insecure: bool = False  # allows plain text off loopback and skips certificate checks
    ca_file: str | None = None
    username: str
    auth: Literal["password", "xoauth2"] = "password"
    password_env: str | None = None
    password_file: str | None = None
    oauth2_token_url: str | None = None
    oauth2_client_id: str | None = None
    oauth2_client_secret_env: str | None = None
    oauth2_client_secret_file: str | None = None
    oauth2_refresh_token_env: str | None = None
    oauth2_refresh_token_file: str | None = None
    oauth2_scope: str | None = None
    folders: list[str] | None = None
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "Sent Items", "Sent Messages"])
    since: date | None = None  # ignore mail that arrived before this day
    text_part_cap: int = Field(default=256 * 1024, ge=1024)
    # authserv-ids of our own receiving servers, whose Authentication-Results headers are believed
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    timeout: float = 60.0
    # A dropped connection is reopened this many times, waiting first, 2×first … s (at most 30 s) between.
    reconnect_attempts: int = Field(default=6, ge=1, le=20)
    reconnect_first_seconds: float = Field(default=0.5, gt=0, le=30)

    @model_validator(mode="after")
    def _safe_transport(self) -> ImapSourceConfig:
        if self.mode == "plain" and not (self.insecure or _is_loopback(self.host)):
            raise ValueError(
                f"plain-text IMAP to {self.host} is refused: set tls = true or starttls = true "
                "(or insecure = true if you must)"
            )
        if self.auth == "password" and not (self.password_env or self.password_file):
            raise ValueError("password auth needs password_env or password_file")
        if self.auth == "xoauth2":
            missing = [k for k in ("oauth2_token_url", "oauth2_client_id") if not getattr(self, k)]
            if not (self.oauth2_refresh_token_env or self.oauth2_refresh_token_file):
                missing.append("oauth2_refresh_token_env or oauth2_refresh_token_file")
            if missing:
                raise ValueError(f"xoauth2 auth needs {', '.join(missing)}")
        return self

    @property
    def mode(self) -> Literal["tls", "starttls", "plain"]:
        return "starttls" if self.starttls else "tls" if self.tls else "plain"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.mode == "tls" else 143)


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TwilioSourceConfig(SourceBase, SecretMixin):
    """The Twilio message log (or a Twilio-compatible one at `base_url`), read through the `twilio` SDK."""

    type: Literal["twilio"]
    account_sid: str
    auth_token_env: str | None = None
    auth_token_file: str | None = None
    api_key_sid: str | None = None  # an API key (SK…) with its secret, instead of the auth token
    api_key_secret_env: str | None = None
    api_key_secret_file: str | None = None
    numbers: list[str] = Field(default_factory=list)  # ours, E.164; empty: every message of the account
    base_url: str = "https://api.twilio.com"
    since: date | None = None  # GMT day the first poll reads from; default all the API keeps (~400 days)

    @field_validator("numbers")
    @classmethod
    def _e164(cls, value: list[str]) -> list[str]:
        numbers = [re.sub(r"[\s().-]", "", n) for n in value]
        for raw, n in zip(value, numbers, strict=True):
            if not re.fullmatch(r"\+[1-9]\d{6,14}", n):
                raise ValueError(f"{raw!r} is not a phone number in E.164 form (+15125550100)")
        return numbers

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> TwilioSourceConfig:
        token = bool(self.auth_token_env or self.auth_token_file)
        key = bool(self.api_key_sid or self.api_key_secret_env or self.api_key_secret_file)
        if token == key:
            raise ValueError("give auth_token_env/_file, or api_key_sid with api_key_secret_env/_file")
        if key and not (self.api_key_sid and (self.api_key_secret_env or self.api_key_secret_file)):
            raise ValueError("an API key needs api_key_sid and api_key_secret_env or api_key_secret_file")
        return self

    def credentials(self) -> tuple[str, str]:
        """HTTP Basic (user, password): the API key and its secret, else the account SID and its token."""
        if self.api_key_sid:
            secret = self.read_secret("api_key_secret", self.api_key_secret_env, self.api_key_secret_file)
            return self.api_key_sid, secret or ""
        token = self.read_secret("auth_token", self.auth_token_env, self.auth_token_file)
        return self.account_sid, token or ""


class TwilioCallsSourceConfig(TwilioSourceConfig):
    """The Twilio call log of the account: the same keys as the messages source, its own cursor."""

    type: Literal["twilio-calls"]  # type: ignore[assignment]


class LocalMailSourceConfig(FileSourceBase):
    """A Maildir (with Maildir++ subfolders), an mbox file, or a folder of .eml files."""

    type: Literal["maildir", "mbox", "eml-dir"]
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "Sent Items", "Sent Messages"])
    trusted_authserv_ids: list[str] = Field(default_factory=list)  # as for IMAP


class SmsCsvSourceConfig(FileSourceBase):
    """An SMS log CSV: the generic columns or a Twilio console export."""

    type: Literal["sms-csv"]
    interval: int = 300  # an export is replaced by hand: polled less often


class CallsCsvSourceConfig(FileSourceBase):
    """A call log CSV: the generic columns or a CallRail export."""

    type: Literal["calls-csv"]
    interval: int = 300


SourceConfig = Annotated[
    ImapSourceConfig
    | TwilioSourceConfig
    | TwilioCallsSourceConfig
    | LocalMailSourceConfig
    | SmsCsvSourceConfig
    | CallsCsvSourceConfig,
    Field(discriminator="type"),
]


class SmtpConfig(SecretMixin):
    """The mail server the digest leaves by: STARTTLS (587) or implicit TLS (`ssl`, 465), optional auth."""

    host: str = "localhost"
    port: int | None = None  # default 465 with ssl, 587 otherwise
    starttls: bool = True
    ssl: bool = False
    insecure: bool = False  # allows plain text off loopback and skips certificate checks
    ca_file: str | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    sender: str = "replywatch@localhost"
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _safe_transport(self) -> SmtpConfig:
        if self.ssl and self.starttls and "starttls" in self.model_fields_set:
            raise ValueError("choose one of starttls = true and ssl = true")
        if self.mode == "plain" and not (self.insecure or _is_loopback(self.host)):
            raise ValueError(
                f"plain-text SMTP to {self.host} is refused: set starttls = true or ssl = true "
                "(or insecure = true if you must)"
            )
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("username needs password_env or password_file")
        return self

    @property
    def mode(self) -> Literal["ssl", "starttls", "plain"]:
        return "ssl" if self.ssl else "starttls" if self.starttls else "plain"

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.mode == "ssl" else 587)

    def password(self) -> str | None:
        return self.read_secret("password", self.password_env, self.password_file)


_SEND_AT_RE = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN)\s+(\d{1,2}):(\d{2})$", re.IGNORECASE)


class DigestConfig(_Strict):
    """The Monday digest: when it goes (store-local), its baseline, the group roll-up and the mail server."""

    send_at: str = "MON 07:00"
    baseline_weeks: int = Field(default=4, ge=1, le=52)
    group_name: str = "All stores"
    group_recipients: list[str] = Field(default_factory=list)  # the roll-up of every store goes here
    # A failed send is tried again after this, then twice as long each time, at most an hour apart.
    retry_seconds: int = Field(default=60, ge=1, le=3600)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)

    @field_validator("send_at")
    @classmethod
    def _valid_send_at(cls, value: str) -> str:
        m = _SEND_AT_RE.match(value.strip())
        if not m or int(m.group(2)) > 23 or int(m.group(3)) > 59:
            raise ValueError(f'expected a day and a store-local time like "MON 07:00", got {value!r}')
        return value

    @property
    def send_weekday(self) -> int:
        """Monday 0 … Sunday 6."""
        return DAYS.index(self.send_at.strip()[:3].lower())

    @property
    def send_time(self) -> time:
        hours, minutes = self.send_at.strip()[3:].strip().split(":")
        return time(int(hours), int(minutes))


class MatchingConfig(_Strict):
    """`[matching]`: how long a lead takes replies. Thresholds and weights live in rules/30-matching.toml."""

    lead_open_days: int = Field(default=90, ge=1, le=3650)


class ContactConfig(_Strict):
    """`[contact]`: what counts as contact beyond a reply. A call is a conversation from this many seconds."""

    min_call_seconds: int = Field(default=30, ge=0, le=3600)


class DaemonConfig(_Strict):
    """`[daemon]`: how `replywatch run` shares sources with other daemons on one PostgreSQL."""

    # A daemon that dies loses its sources after this long; a live one renews every third of it.
    lease_seconds: int = Field(default=60, ge=3, le=3600)
    # How often the digest schedule and the re-matching sweep run.
    housekeeping_seconds: int = Field(default=30, ge=1, le=3600)
    # A source worker with no progress for three intervals plus this is stuck: the watchdog restarts it,
    # and `status` calls a source nobody has polled for as long stalled.
    watchdog_grace_seconds: int = Field(default=60, ge=1, le=3600)

    def stall_limit(self, interval: float) -> float:
        """Seconds without progress after which a source's worker is stuck and the source stalled."""
        return 3 * interval + self.watchdog_grace_seconds


class AlertsConfig(_Strict):
    """`[alerts]`: when a lead, a source or the review queue needs someone now. Minutes of a lead's wait
    are counted in its store's open hours."""

    untouched_after_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    escalate_after_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # Leads stored more than this after they arrived are history (a backfill, a late import): no alerts.
    lookback_hours: int = Field(default=24, ge=1, le=24 * 30)
    source_down_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    review_stale_hours: int = Field(default=24, ge=1, le=24 * 30)
    check_seconds: int = Field(default=30, ge=1, le=3600)  # how often the daemon looks for alerts

    @model_validator(mode="after")
    def _escalate_later(self) -> AlertsConfig:
        if self.escalate_after_minutes <= self.untouched_after_minutes:
            raise ValueError("escalate_after_minutes must be more than untouched_after_minutes")
        return self


class NotifyConfig(SecretMixin):
    """A `[[notify]]` target: where events go (email, Slack, Teams, a signed webhook), which event types,
    and optionally which stores. A Slack or Teams URL is itself a secret: named by `url_env`/`url_file`."""

    name: str
    type: Literal["email", "slack", "teams", "webhook"]
    events: list[str]
    stores: list[str] | None = None
    url: str | None = None  # a webhook's (not a secret); Slack and Teams take url_env / url_file
    url_env: str | None = None
    url_file: str | None = None
    secret_env: str | None = None  # a webhook's HMAC key
    secret_file: str | None = None
    to: list[str] = Field(default_factory=list)  # email recipients
    insecure: bool = False  # allows http:// off loopback
    timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"name at least one event type: {', '.join(EVENT_TYPES)}")
        for event in value:
            if event not in EVENT_TYPES:
                raise ValueError(f"unknown event type {event!r} (known: {', '.join(EVENT_TYPES)})")
        return value

    @model_validator(mode="after")
    def _complete(self) -> NotifyConfig:
        named = bool(self.url_env or self.url_file)
        if self.type == "email":
            if not self.to:
                raise ValueError("an email target needs to = [...]")
        elif self.type == "webhook":
            if not (self.url or named):
                raise ValueError("a webhook target needs url (or url_env / url_file)")
            if not (self.secret_env or self.secret_file):
                raise ValueError("a webhook target needs secret_env or secret_file to sign its requests")
        elif self.url:
            raise ValueError(f"a {self.type} webhook URL is a secret: give url_env or url_file, not url")
        elif not named:
            raise ValueError(f"a {self.type} target needs url_env or url_file")
        if self.url and (problem := _http_url_problem(self.url, self.insecure)):
            raise ValueError(f"url: {problem}")
        return self

    def target_url(self) -> str:
        """The URL to post to, read now (from the environment or a file when named so)."""
        url = self.url or self.read_secret("url", self.url_env, self.url_file) or ""
        if problem := _http_url_problem(url, self.insecure):
            raise ConfigError(f"notify {self.name}: url: {problem}")
        return url

    def secret(self) -> str | None:
        return self.read_secret("secret", self.secret_env, self.secret_file)


def _http_url_problem(url: str, insecure: bool) -> str | None:
    """Why a notification URL is refused (never the URL itself: it may be a secret), or None."""
    found = re.match(r"^(https?)://([^/\s:?#@]+|\[[0-9a-fA-F:]+\])(:\d+)?(/|$)", url)
    if not found:
        return "not an http(s) URL"
    if found[1] == "http" and not (insecure or _is_loopback(found[2])):
        return "plain http is refused off loopback: use https (or insecure = true)"
    return None


class Settings(_Strict):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    stores: list[StoreConfig] = Field(default_factory=list)
    associates: list[AssociateConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    contact: ContactConfig = Field(default_factory=ContactConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    notify: list[NotifyConfig] = Field(default_factory=list)
    rules_dir: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        store_names = [s.name for s in self.stores]
        _unique("stores", store_names)
        _unique("sources", [s.name for s in self.sources])
        for i, a in enumerate(self.associates):
            if a.store not in store_names:
                raise ValueError(f"associates[{i}].store: no store named {a.store!r}")
        for i, src in enumerate(self.sources):
            if src.store is not None and src.store not in store_names:
                raise ValueError(f"sources[{i}].store: no store named {src.store!r}")
        _unique("notify", [n.name for n in self.notify])
        for i, target in enumerate(self.notify):
            for name in target.stores or ():
                if name not in store_names:
                    raise ValueError(f"notify[{i}].stores: no store named {name!r}")
        return self

    def store(self, name: str) -> StoreConfig:
        for s in self.stores:
            if s.name == name:
                return s
        raise ConfigError(f"no store named {name!r} in the configuration")

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r} in the configuration")

    @property
    def default_store(self) -> StoreConfig | None:
        return self.stores[0] if self.stores else None


def _unique(label: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{label}: name {n!r} is used twice")
        seen.add(n)


def _env_overrides(data: dict[str, Any], environ: dict[str, str]) -> None:
    """REPLYWATCH_<TABLE>_<KEY> sets a key of a top-level table, e.g. REPLYWATCH_DATABASE_URL."""
    for table in ("database", "daemon", "digest", "matching", "contact", "alerts"):
        prefix = f"REPLYWATCH_{table.upper()}_"
        for var, value in environ.items():
            if var.startswith(prefix) and value != "":
                key = var[len(prefix) :].lower()
                data.setdefault(table, {})[key] = _coerce(value)
    if environ.get("REPLYWATCH_RULES_DIR"):
        data["rules_dir"] = environ["REPLYWATCH_RULES_DIR"]


def _coerce(value: str) -> Any:
    if value.isdigit():
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _reject_inline_secrets(data: Any, where: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if key in _SECRET_KEYS:
                raise ConfigError(
                    f"{path}: secrets are never written in the file; use {key}_env or {key}_file"
                )
            _reject_inline_secrets(value, path)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _reject_inline_secrets(item, f"{where}[{i}]")


def _describe(exc: ValidationError, origin: str) -> str:
    """Every error of the file, one line each, naming the key: the first is not enough when a user
    fixes them one run at a time."""
    return "\n".join(f"{origin}: {_one_error(err)}" for err in exc.errors())


def _one_error(err: Any) -> str:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _SOURCE_TAGS)]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "missing key"
    return f"{path}: {msg}" if path else msg


_SOURCE_TAGS = {"imap", "twilio", "twilio-calls", "maildir", "mbox", "eml-dir", "sms-csv", "calls-csv"}


def settings_from_dict(data: dict[str, Any], origin: str = "config") -> Settings:
    """Validate a parsed TOML document; a bad key gives a one-line ConfigError naming it."""
    _reject_inline_secrets(data)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read replywatch.toml (path, else $REPLYWATCH_CONFIG, else ./replywatch.toml)."""
    env = dict(os.environ if environ is None else environ)
    config_path = Path(path or env.get("REPLYWATCH_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: configuration file not found (create one with `replywatch init`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    _env_overrides(data, env)
    settings = settings_from_dict(data, str(config_path))
    return _resolve_relative(settings, config_path.parent)


def _resolve_relative(settings: Settings, base: Path) -> Settings:
    """Paths in the file are relative to the file; a relative SQLite path too."""
    updates: dict[str, Any] = {}
    url = settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url.removeprefix("sqlite:///")
        if rel and rel != ":memory:" and not rel.startswith("file:"):
            updates["database"] = DatabaseConfig(url=f"sqlite:///{(base / rel).resolve()}")
    sources = []
    for src in settings.sources:
        if isinstance(src, FileSourceBase) and not Path(src.path).is_absolute():
            src = src.model_copy(update={"path": str((base / src.path).resolve())})
        sources.append(src)
    updates["sources"] = sources
    if settings.rules_dir and not Path(settings.rules_dir).is_absolute():
        updates["rules_dir"] = str((base / settings.rules_dir).resolve())
    return settings.model_copy(update=updates)
