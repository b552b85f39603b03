"""Writes a believable sample dealership (Maildir, SMS CSV, config) for `replywatch demo`."""

from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from replywatch import clock, demo_adf
from replywatch.config import DAYS, parse_hours
from replywatch.demo_adf import AdfLead, LeadFactory, adf_document, human_phone

HOST = "mx1.replywatch-demo"  # host part of every Maildir file name we write, and so may replace
CRM_DOMAIN = "mail.dealercrm.example"  # follow-ups sent from a CRM never reach the Maildir
_DAY_WEIGHTS = (1.25, 1.1, 1.0, 1.0, 0.95, 1.15, 0.6)  # leads per weekday, Monday first
_PROVIDER_WEIGHTS = (0.2, 0.16, 0.16, 0.1, 0.24, 0.14)  # PROVIDERS, then the store's OEM site
_TOUCH_DELAYS = ((0.3, 30, 240), (0.12, 240, 1440), (0.08, 1440, 4320))  # (weight, minutes from, to)
_REPLY_DELAYS = ((0.35, 2, 45), (0.3, 45, 360), (0.25, 360, 2160), (0.1, 2160, 7200))
_CONFIG_HEAD = """\
# Sample dealership written by `replywatch demo`. Paths are relative to this file.

[database]
url = "sqlite:///replywatch.db"
"""
_CONFIG_TAIL = """\
# The shared lead inbox: ADF leads and customers' mail in INBOX, our follow-ups in the .Sent folder.
[[sources]]
name = "lead-inbox"
type = "maildir"
path = "mail"

# The texting platform's message log.
[[sources]]
name = "texts"
type = "sms-csv"
path = "sms.csv"

[digest]
send_at = "MON 07:00"
baseline_weeks = 2  # a short history: two weeks of baseline, the later weeks show the trend
"""


@dataclass(frozen=True)
class SampleDealership:
    root: Path
    config_path: Path  # root / "replywatch.toml"
    maildir: Path  # root / "mail"
    sms_csv: Path  # root / "sms.csv"
    leads: int  # how many leads were written
    expected_contacted: int  # how many leads the generator made a real contact for (ground truth)


@dataclass(frozen=True)
class _Store:
    name: str  # ends with the make it sells
    timezone: str
    area_codes: tuple[str, ...]
    weekdays: str  # opening hours Monday to Friday, as in the config
    saturday: str  # and Saturday; Sunday closed
    recipients: tuple[str, ...]  # local parts at the store's domain

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return self.name.lower().replace(" ", "") + ".example"

    @property
    def hours(self) -> tuple[str, ...]:
        return (self.weekdays,) * 5 + (self.saturday, "closed")

    def span(self, day: date) -> tuple[int, int] | None:
        """Opening and closing minute of the day, None when closed."""
        hours = parse_hours(DAYS[day.weekday()], self.hours[day.weekday()])
        return None if hours is None else (_minutes(hours[0]), _minutes(hours[1]))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class _Associate:
    name: str
    store: _Store
    local_part: str
    phone: str  # E.164

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.store.domain}"


STORES = (
    _Store(
        "Main Street Honda", "America/Chicago", ("512", "737"), "09:00-20:00", "09:00-18:00", ("gm", "bdc")
    ),
    _Store("Lakeside Toyota", "America/Denver", ("303", "720"), "08:30-19:00", "09:00-17:00", ("gm",)),
)
ASSOCIATES = (
    _Associate("Dana Lee", STORES[0], "dana", "+15125550101"),
    _Associate("Marcus Johnson", STORES[0], "marcus.johnson", "+15125550102"),
    _Associate("Priya Patel", STORES[0], "priya", "+15125550103"),
    _Associate("Carlos Mendoza", STORES[1], "carlos", "+13035550111"),
    _Associate("Emily Chen", STORES[1], "emily.chen", "+13035550112"),
)


@dataclass(frozen=True)
class _Lead:
    adf: AdfLead
    associate: _Associate  # only the generator knows; the pipeline infers it from who writes
    received: datetime  # UTC
    week: int
    mail: int  # leads with the same number arrive in one mail


_Route = tuple[Address, Address]  # (From, To)


@dataclass(frozen=True)
class _Touch:
    channel: str  # email | sms
    when: datetime
    msgid: str = ""
    subject: str = ""
    body: str = ""


@dataclass
class _Outbox:
    mails: list[tuple[datetime, str, bytes]] = field(default_factory=list)  # (when, folder, RFC 5322 bytes)
    texts: list[tuple[datetime, str, str, str, str, str]] = field(default_factory=list)  # (when, CSV row)


def write_sample_dealership(
    root: Path, *, seed: int = 7, end: date | None = None, weeks: int = 5
) -> SampleDealership:
    """Writes root/replywatch.toml, root/mail (Maildir) and root/sms.csv; same seed and end, same bytes."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = clock.now().date()
    end = end or today - timedelta(days=today.weekday())
    ends = {s.name: datetime.combine(end, time(0), s.zone).astimezone(UTC) for s in STORES}
    rng = random.Random(seed)
    leads = _make_leads(rng, end, weeks)
    out = _Outbox()
    for number in sorted({lead.mail for lead in leads}):
        group = [lead for lead in leads if lead.mail == number]
        when, data = _lead_mail(rng, group)
        if when < ends[group[0].adf.store]:
            out.mails.append((when, "", data))
    contacted = 0
    for lead, role in zip(leads, _roles(rng, leads), strict=True):
        chance = 0.45 + 0.3 * lead.week / max(1, weeks - 1)  # the department improves: a trend to show
        contacted += _Story(lead, rng, ends[lead.adf.store], out).tell(role, chance)
    root.mkdir(parents=True, exist_ok=True)
    (root / "replywatch.toml").write_text(_config_text(), encoding="utf-8")
    _write_maildir(root / "mail", out.mails, rng.randint(2000, 60000), min(ends.values()))
    _write_sms(root / "sms.csv", out.texts)
    paths = (root / "replywatch.toml", root / "mail", root / "sms.csv")
    return SampleDealership(root, *paths, len(leads), contacted)


def _make_leads(rng: random.Random, end: date, weeks: int) -> list[_Lead]:
    factory = LeadFactory(rng, {a.phone for a in ASSOCIATES})
    counts = [rng.randint(36, 44) for _ in range(weeks)]
    twins = set(rng.sample(range(sum(counts)), max(1, sum(counts) // 70)))
    leads: list[_Lead] = []
    for mail, week in enumerate(w for w, count in enumerate(counts) for _ in range(count)):
        store = rng.choices(STORES, weights=(0.58, 0.42))[0]
        provider = rng.choices(demo_adf.providers_for(store.name), weights=_PROVIDER_WEIGHTS)[0]
        day = end - timedelta(days=7 * (weeks - week) - rng.choices(range(7), weights=_DAY_WEIGHTS)[0])
        received = _lead_time(rng, store, day)
        times = [received - timedelta(minutes=rng.randint(1, 4)), received] if mail in twins else [received]
        for at in times:  # twins: a provider batching two leads into one mail
            adf = factory.lead(provider, at, store.name, f"leads@{store.domain}", store.area_codes)
            associate = rng.choice([a for a in ASSOCIATES if a.store is store])
            leads.append(_Lead(adf, associate, at.astimezone(UTC), week, mail))
    return leads


def _roles(rng: random.Random, leads: list[_Lead]) -> list[str]:
    """A fixed number of leads per special story, so every sample shows each one."""
    n = len(leads)
    roles = ["normal"] * n
    quotas = (
        ("ghost", max(2, n // 70), "first"),
        ("stop", 3, "phone"),
        ("auto", max(2, n // 40), "email"),
        ("crm", max(2, n // 25), "email"),
        ("twice", max(2, n // 35), "email"),
    )
    for role, k, needs in quotas:  # `needs`: the customer field the story cannot do without
        fits = [getattr(lead.adf.customer, needs) for lead in leads]
        pool = [i for i, taken in enumerate(roles) if taken == "normal" and fits[i]]
        for i in rng.sample(pool, min(k, len(pool))):
            roles[i] = role
    return roles


# -- time ---------------------------------------------------------------------------------------------------


def _local(store: _Store, day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60 % 24, minute % 60), store.zone)


def _lead_time(rng: random.Random, store: _Store, day: date) -> datetime:
    """Mostly while the store is open; the rest evenings, nights and Sundays, when shoppers browse."""
    span = store.span(day)
    if span is None:
        minute = rng.randint(540, 1320)
    elif rng.random() < 0.78:
        minute = rng.randint(span[0], span[1] - 1)
    else:
        minute = rng.randint(span[1], 1440 + 420) % 1440
    return _local(store, day, minute) + timedelta(seconds=rng.randint(0, 59))


def _open_at(store: _Store, when: datetime) -> datetime:
    """The first moment at or after `when` the store is open: associates work store hours."""
    local = when.astimezone(store.zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        span = store.span(day)
        if span and local < _local(store, day, span[1]):
            return max(local, _local(store, day, span[0])).astimezone(UTC)
    return when


def _delay(rng: random.Random, table: tuple[tuple[float, int, int], ...]) -> timedelta:
    _, low, high = rng.choices(table, weights=[w for w, _, _ in table])[0]
    return timedelta(seconds=rng.randint(low * 60, high * 60))


def _touch_time(rng: random.Random, store: _Store, after: datetime, speed: float) -> datetime:
    when = after + _delay(rng, ((speed, 2, 30), *_TOUCH_DELAYS))
    opened = _open_at(store, when)
    return when if opened == when else opened + timedelta(seconds=rng.randint(180, 4500))


def _reply_time(rng: random.Random, store: _Store, after: datetime) -> datetime:
    when = after + _delay(rng, _REPLY_DELAYS)
    hour = when.astimezone(store.zone).hour
    return when + timedelta(hours=7 - hour, minutes=rng.randint(0, 90)) if hour < 7 else when


# -- messages -----------------------------------------------------------------------------------------------


def _message(
    when: datetime, route: tuple[Address, Address], subject: str, body: str, msgid: str
) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"], msg["To"], msg["Subject"] = route[0], route[1], subject
    msg["Date"], msg["Message-ID"] = format_datetime(when), msgid
    msg.set_content(body)
    return msg


def _msgid(rng: random.Random, domain: str) -> str:
    return f"<{rng.getrandbits(80):020x}@{domain}>"


def _thread(*ids: str) -> dict[str, str]:
    return {"In-Reply-To": ids[-1], "References": " ".join(ids)}


def _quote(text: str, when: datetime, author: str) -> str:
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return f"\n\nOn {when.strftime('%a, %b %d, %Y at %I:%M %p')}, {author} wrote:\n{quoted}\n"


def _lead_mail(rng: random.Random, group: list[_Lead]) -> tuple[datetime, bytes]:
    """The provider's notification: ADF in the body, attached, or two documents in one body."""
    adf, provider = group[0].adf, group[0].adf.provider
    when = max(lead.received for lead in group) + timedelta(seconds=rng.randint(20, 240))
    sender = Address(f"{provider.name} Leads", addr_spec=provider.sender)
    route = (sender, Address(f"{adf.store} Internet Sales", addr_spec=adf.store_email))
    name = f"{adf.customer.first} {adf.customer.last}"
    subject = provider.subject.format(vehicle=adf.vehicle.title, name=name)
    docs = [adf_document(lead.adf) for lead in group]
    body, attach = "\n".join(docs), adf.quirks.attachment if len(group) == 1 else None
    if len(group) > 1:
        subject = f"{len(group)} new leads from {provider.name}"
    if attach:
        body = f"New lead from {provider.name}: {adf.vehicle.title}.\nThe ADF/XML lead is attached.\n"
    msg = _message(when.astimezone(UTC), route, subject, body, _msgid(rng, sender.domain))
    if attach:
        kind = attach.split("/")
        msg.add_attachment(docs[0].encode(), kind[0], kind[1], filename=f"lead-{adf.lead_id}.xml")
        msg.set_boundary(f"=_rw_{rng.getrandbits(64):016x}")  # email's own boundary would be random
    return when, msg.as_bytes()


class _Story:
    """One lead's follow-ups and replies; what would happen after the end date is left out."""

    def __init__(self, lead: _Lead, rng: random.Random, end: datetime, out: _Outbox) -> None:
        self.lead, self.rng, self.end, self.out = lead, rng, end, out
        self.customer, self.associate, self.store = lead.adf.customer, lead.associate, lead.associate.store
        ours = Address(self.associate.name, addr_spec=self.associate.email)
        name, email = f"{self.customer.first} {self.customer.last}", self.customer.email
        theirs = Address(name, addr_spec=email) if email else Address(name)  # phone-only: never mailed
        self.outbound, self.inbound = (ours, theirs), (theirs, ours)

    def tell(self, role: str, chance: float) -> bool:
        """Writes the story; True when the customer made a real contact (the ground truth)."""
        if role == "ghost":
            return False
        if role == "crm":
            return self._crm_reply()
        start = self._unprompted() if role == "twice" else self.lead.received
        touches = self._touches(role, start)
        if role == "stop":  # its SMS touch comes last
            when = _reply_time(self.rng, self.store, touches[-1].when)
            self.text(when, self.rng.choice(("STOP", "Stop")), True)
            return False
        if role == "auto":  # its email touch comes first; the human answer waits for the customer's return
            start = self._auto_reply(touches[0]) + timedelta(days=self.rng.randint(1, 3))
        if self.rng.random() >= (0.5 if role in ("auto", "twice") else chance):
            return False
        touch = self.rng.choice(touches)
        return self._reply(touch, max(start, touch.when)) < self.end

    def email(self, when: datetime, route: _Route, subject: str, body: str, headers: dict[str, str]) -> str:
        msgid = _msgid(self.rng, route[0].domain)
        if when < self.end:
            msg = _message(when.astimezone(self.store.zone), route, subject, body, msgid)
            for name, value in headers.items():
                msg[name] = value
            self.out.mails.append((when, "Sent" if route == self.outbound else "", msg.as_bytes()))
        return msgid

    def text(self, when: datetime, body: str, inbound: bool) -> None:
        ours, theirs = self.associate.phone, self.customer.phone or ""
        sender, recipient = (theirs, ours) if inbound else (ours, theirs)
        if when < self.end:
            sid, direction = f"SM{self.rng.getrandbits(128):032x}", "inbound" if inbound else "outbound"
            row = (sid, human_phone(self.rng, sender), human_phone(self.rng, recipient), body, direction)
            self.out.texts.append((when, *row))

    def _touches(self, role: str, start: datetime) -> list[_Touch]:
        rng, c, a, v = self.rng, self.customer, self.associate, self.lead.adf.vehicle
        by_email = c.email is not None and (role == "auto" or c.phone is None or rng.random() < 0.9)
        by_sms = c.phone is not None and (role == "stop" or not by_email or rng.random() < 0.5)
        when = _touch_time(rng, self.store, start, 0.4 + 0.05 * self.lead.week)  # they get faster too
        touches = []
        if by_email:
            subject = rng.choice(demo_adf.FOLLOW_UP_SUBJECTS)
            subject = subject.format(vehicle=v.title, store=self.store.name, model=v.model, first=c.first)
            pitch = rng.choice(demo_adf.FOLLOW_UP_PITCHES)
            body = f"Hi {c.first},\n\nThanks for reaching out about the {v.title}. {pitch}\n\n"
            body += f"Best,\n{a.name}\nInternet Sales, {self.store.name}\n{human_phone(rng, a.phone)}\n"
            msgid = self.email(when, self.outbound, subject, body, {})
            touches.append(_Touch("email", when, msgid, subject, body))
        if by_sms:
            at = when + timedelta(seconds=rng.randint(60, 900)) if by_email else when
            hello = f"Hi {c.first}, this is {a.name.split()[0]} with {self.store.name}."
            self.text(
                at, f"{hello} Thanks for your interest in the {v.title}! When can you come see it?", False
            )
            touches.append(_Touch("sms", at))
        return touches

    def _reply(self, touch: _Touch, after: datetime) -> datetime:
        rng, a = self.rng, self.associate
        when = _reply_time(rng, self.store, after)
        spanish = self.customer.spanish and rng.random() < 0.5
        if touch.channel == "sms":
            self.text(when, rng.choice(demo_adf.TEXTS_ES if spanish else demo_adf.TEXTS), True)
            if rng.random() < 0.4:
                answer = _open_at(self.store, when + timedelta(minutes=rng.randint(3, 60)))
                self.text(answer, "Great, thanks! I'll send you the details shortly.", False)
            return when
        text = rng.choice(demo_adf.REPLIES_ES if spanish else demo_adf.REPLIES)
        if rng.random() < 0.8:
            body = text + _quote(touch.body, touch.when.astimezone(self.store.zone), f"{a.name} <{a.email}>")
            reply_id = self.email(when, self.inbound, f"Re: {touch.subject}", body, _thread(touch.msgid))
        else:  # a fresh mail, or a client that drops the thread headers: it matches by address only
            subject = rng.choice((f"Re: {touch.subject}", f"{self.lead.adf.vehicle.model} question"))
            reply_id = self.email(when, self.inbound, subject, text + "\n", {})
        if rng.random() < 0.4:
            answer = _open_at(self.store, when + timedelta(minutes=rng.randint(5, 120)))
            body = f"Hi {self.customer.first},\n\nSounds good, I'll get that over to you today.\n\n{a.name}\n"
            self.email(answer, self.outbound, f"Re: {touch.subject}", body, _thread(touch.msgid, reply_id))
        return when

    def _crm_reply(self) -> bool:
        """Our follow-up went out from a CRM: only the customer's answer, naming it, reaches the inbox."""
        rng, lead = self.rng, self.lead
        crm_at = _touch_time(rng, self.store, lead.received, 0.5)
        when = _reply_time(rng, self.store, crm_at)
        crm_text = f"Hi {self.customer.first}, thank you for your inquiry on the {lead.adf.vehicle.title}!"
        quoted = _quote(crm_text, crm_at.astimezone(self.store.zone), self.associate.name)
        body = rng.choice(demo_adf.REPLIES) + quoted
        subject = f"Re: Your inquiry with {self.store.name}"
        self.email(when, self.inbound, subject, body, _thread(_msgid(rng, CRM_DOMAIN)))
        return when < self.end

    def _unprompted(self) -> datetime:
        """The customer writes again before anyone answered: a reply, but not yet a contact."""
        adf = self.lead.adf
        when = self.lead.received + timedelta(minutes=self.rng.randint(10, 180))
        body = f"Hi, I sent a request on {adf.provider.name} earlier. Is it still available?\n\n"
        body += f"{self.customer.first}\n"
        route = (self.inbound[0], Address(f"{adf.store} Internet Sales", addr_spec=adf.store_email))
        self.email(when, route, f"Is the {adf.vehicle.title} still available?", body, {})
        return when

    def _auto_reply(self, touch: _Touch) -> datetime:
        prefix, body = self.rng.choice(demo_adf.AUTO_REPLIES)
        when = touch.when + timedelta(seconds=self.rng.randint(20, 180))
        headers = {"Auto-Submitted": "auto-replied", **_thread(touch.msgid)}
        if prefix.startswith("Automatic"):
            headers["X-Auto-Response-Suppress"] = "All"  # Exchange puts it on its auto-replies as well
        self.email(when, self.inbound, prefix + touch.subject, body + "\n", headers)
        return when


# -- files --------------------------------------------------------------------------------------------------


def _write_maildir(path: Path, mails: list[tuple[datetime, str, bytes]], pid: int, end: datetime) -> None:
    """INBOX at the top, our follow-ups in the Maildir++ `.Sent` folder; each file's mtime is its Date."""
    folders = {"": path, "Sent": path / ".Sent"}
    for directory in folders.values():
        for part in ("cur", "new", "tmp"):
            (directory / part).mkdir(parents=True, exist_ok=True)
            for stale in (directory / part).glob(f"*.{HOST}*"):  # a previous sample, never anyone's own mail
                stale.unlink()
    (path / ".Sent" / "maildirfolder").touch()
    for seq, (when, folder, data) in enumerate(sorted(mails)):
        unread = folder == "" and when >= end - timedelta(days=1)  # the last day's mail is still unread
        name = f"{int(when.timestamp())}.{pid}_{seq}.{HOST}" + ("" if unread else ":2,S")
        target = folders[folder] / ("new" if unread else "cur") / name
        target.write_bytes(data)
        os.utime(target, (when.timestamp(), when.timestamp()))


def _write_sms(path: Path, texts: list[tuple[datetime, str, str, str, str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        for when, *row in sorted(texts):
            writer.writerow([row[0], clock.iso_z(when), *row[1:]])


def _config_text() -> str:
    q = json.dumps  # a JSON string of ASCII text is a valid TOML basic string
    blocks = [_CONFIG_HEAD]
    for s in STORES:
        hours = ", ".join(f"{day} = {q(text)}" for day, text in zip(DAYS, s.hours, strict=True))
        recipients = q([f"{r}@{s.domain}" for r in s.recipients])
        blocks.append(
            f'[[stores]]\nname = {q(s.name)}\ntimezone = {q(s.timezone)}\nregion = "US"\n'
            f"hours = {{ {hours} }}\ndigest_recipients = {recipients}\n"
        )
    blocks.append("# Mail and texts from these addresses and numbers are ours (outbound).")
    for a in ASSOCIATES:
        blocks.append(
            f"[[associates]]\nname = {q(a.name)}\nstore = {q(a.store.name)}\n"
            f"emails = {q([a.email])}\nphones = {q([a.phone])}\n"
        )
    return "\n".join([*blocks, _CONFIG_TAIL])
