"""A labelled dealership for bench/match_eval.py: leads, our follow-ups, replies with every hard case of
matching, and noise; with the truth (which lead each message belongs to, when each lead was contacted)."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

END = datetime(2026, 11, 30, tzinfo=UTC)
STORES = (
    ("Main Street Honda", "mainstreethonda.example", "512"),
    ("Lakeside Toyota", "lakesidetoyota.example", "303"),
)
ASSOCIATES = (
    ("Dana Lee", 0, "dana", "+15125550101"),
    ("Marcus Johnson", 0, "marcus", "+15125550102"),
    ("Priya Patel", 0, "priya", "+15125550103"),
    ("Carlos Mendoza", 1, "carlos", "+13035550111"),
    ("Emily Chen", 1, "emily", "+13035550112"),
)
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "William",
    "Linda",
    "David",
    "Elizabeth",
    "Richard",
    "Barbara",
    "Joseph",
    "Susan",
    "Thomas",
    "Jessica",
    "Christopher",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Ashley",
    "Anthony",
    "Emily",
    "Mark",
    "Amanda",
    "Steven",
    "Megan",
    "Kevin",
    "Rachel",
    "Brian",
    "Nicole",
    "Tyler",
    "Jamal",
    "Keisha",
    "Minh",
    "Linh",
    "Wei",
    "Mei",
    "Raj",
    "Ananya",
    "Olga",
    "Dmitri",
    "Katherine",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Nguyen",
    "Tran",
    "Kim",
    "Patel",
    "Sharma",
    "O'Brien",
    "Kowalski",
    "Washington",
    "Okafor",
    "Lindqvist",
    "Abernathy",
]
FIRST_ES = [
    "José",
    "María",
    "Jesús",
    "Sofía",
    "Andrés",
    "Lucía",
    "Ramón",
    "Inés",
    "Raúl",
    "Mónica",
    "Héctor",
    "Verónica",
    "Joaquín",
    "Guadalupe",
]
LAST_ES = [
    "Hernández",
    "García",
    "Martínez",
    "Rodríguez",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Gómez",
    "Díaz",
    "Muñoz",
]
NICK = {
    "Robert": "Bob",
    "William": "Bill",
    "Elizabeth": "Liz",
    "Michael": "Mike",
    "Katherine": "Kate",
    "James": "Jim",
    "Richard": "Rick",
    "Joseph": "Joe",
    "Christopher": "Chris",
    "Matthew": "Matt",
    "Daniel": "Dan",
    "Anthony": "Tony",
    "Steven": "Steve",
    "José": "Pepe",
    "Guadalupe": "Lupe",
}
MODELS = ("CR-V", "Civic", "Accord", "Pilot", "RAV4", "Camry", "Tacoma", "Highlander")
REPLIES = (
    "Yes, still interested. Can I come by Saturday?",
    "What's the out-the-door price?",
    "Tomorrow at 5 works.",
    "Can you send more photos?",
    "Sí, me interesa. ¿A qué hora abren?",
)


@dataclass
class Person:
    first: str
    last: str
    email: str | None
    phone: str | None


@dataclass
class Lead:
    lead_id: str
    person: Person
    store: int
    associate: int
    received: datetime
    model: str
    relay: str | None = None  # the provider's per-lead relay alias given instead of the email


@dataclass
class Correction:
    """A reply a reviewer first places on the wrong namesake's lead, the mail that then follows that link
    on its own, the reviewer's corrections of both, and later mail from the same address (polled after)."""

    first: str  # Message-ID of the reply the reviewer gets wrong
    follow: str  # the next mail from that address: matched on its own, following the wrong link
    late: list[str]  # mail from the address polled after the corrections
    right: str  # the lead it all belongs to
    wrong: str  # the namesake's lead
    at: datetime  # when the first reply was sent


@dataclass
class World:
    leads: list[Lead] = field(default_factory=list)
    mails: list[tuple[datetime, str, bytes]] = field(default_factory=list)
    texts: list[tuple[datetime, str, str, str, str, str]] = field(default_factory=list)
    truth_link: dict[str, str | None] = field(
        default_factory=dict
    )  # Message-ID or SMS id → lead (human inbound)
    truth_contact: dict[str, datetime] = field(default_factory=dict)  # lead → true contact time
    cases: dict[str, int] = field(default_factory=dict)
    late_mails: list[tuple[datetime, str, bytes]] = field(default_factory=list)  # polled after corrections
    corrections: list[Correction] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)  # message key → the error class its story tests

    def note_reply(self, key: str, lead: Lead | None, at: datetime, counts: bool = True) -> None:
        self.truth_link[key] = lead.lead_id if lead else None
        if (
            lead
            and counts
            and (lead.lead_id not in self.truth_contact or at < self.truth_contact[lead.lead_id])
        ):
            self.truth_contact[lead.lead_id] = at


_PLACEHOLDER = "placeholder@bench.invalid"


class Writer:
    """Writes a world's mails and texts as a dealership's Maildir and SMS log would hold them."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng, self.world, self.seq = rng, world, 0

    def msgid(self, domain: str = "x.example") -> str:
        self.seq += 1
        return f"<m{self.seq}.{self.rng.getrandbits(40):x}@{domain}>"

    def mail(
        self,
        when: datetime,
        sender: str,
        to: str,
        subject: str,
        body: str,
        folder: str = "",
        headers: dict[str, str] | None = None,
        msgid: str | None = None,
        raw_from: str | None = None,
        late: bool = False,
    ) -> str:
        """`raw_from`: a From header written as given (an unquoted comma, no brackets…), which
        EmailMessage would refuse or rewrite."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender if raw_from is None else _PLACEHOLDER, to, subject
        msg["Date"], msg["Message-ID"] = format_datetime(when), msgid or self.msgid()
        for key, value in (headers or {}).items():
            msg[key] = value
        msg.set_content(body)
        data = msg.as_bytes()
        if raw_from is not None:
            data = data.replace(f"From: {_PLACEHOLDER}".encode(), f"From: {raw_from}".encode(), 1)
        if when < END:
            (self.world.late_mails if late else self.world.mails).append((when, folder, data))
        return str(msg["Message-ID"])

    def text(self, when: datetime, sender: str, to: str, body: str, inbound: bool) -> str:
        self.seq += 1
        sid = f"SM{self.seq:08d}{self.rng.getrandbits(32):08x}"
        if when < END:
            self.world.texts.append((when, sid, sender, to, body, "inbound" if inbound else "outbound"))
        return sid


def adf(lead: Lead) -> str:
    p, store = lead.person, STORES[lead.store][0]
    contact = f'<name part="first">{p.first}</name><name part="last">{p.last}</name>'
    contact += f"<email>{lead.relay or p.email}</email>" if (lead.relay or p.email) else ""
    contact += f'<phone type="voice">{p.phone}</phone>' if p.phone else ""
    return (
        '<?xml version="1.0"?><adf><prospect>'
        f'<id sequence="1" source="Bench">{lead.lead_id}</id>'
        f"<requestdate>{lead.received.isoformat()}</requestdate>"
        f"<vehicle><year>2025</year><make>Honda</make><model>{lead.model}</model></vehicle>"
        f"<customer><contact>{contact}</contact></customer><vendor><vendorname>{store}</vendorname></vendor>"
        '<provider><name part="full">Bench</name></provider></prospect></adf>'
    )


def write(world: World, root: Path) -> Path:
    """root/mail (Maildir with .Sent), root/late (empty until write_late), root/sms.csv,
    root/replywatch.toml."""
    _maildir(world.mails, root / "mail")
    _maildir([], root / "late")
    with (root / "sms.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        for when, sid, sender, to, body, direction in sorted(world.texts):
            out.writerow([sid, when.isoformat(), sender, to, body, direction])
    stores = "".join(
        f'[[stores]]\nname = "{name}"\ntimezone = "America/Chicago"\n\n' for name, _, _ in STORES
    )
    associates = "".join(
        f'[[associates]]\nname = "{name}"\nstore = "{STORES[s][0]}"\nemails = ["{local}@{STORES[s][1]}"]\n'
        f'phones = ["{phone}"]\n\n'
        for name, s, local, phone in ASSOCIATES
    )
    config = root / "replywatch.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///replywatch.db"\n\n{stores}{associates}'
        '[[sources]]\nname = "inbox"\ntype = "maildir"\npath = "mail"\n\n'
        '[[sources]]\nname = "texts"\ntype = "sms-csv"\npath = "sms.csv"\n\n'
        '[[sources]]\nname = "late"\ntype = "maildir"\npath = "late"\n',
        encoding="utf-8",
    )
    return config


def write_late(world: World, root: Path) -> None:
    """The mail that arrives after the reviewer's corrections, into root/late."""
    _maildir(world.late_mails, root / "late")


def _maildir(mails: list[tuple[datetime, str, bytes]], root: Path) -> None:
    for folder in ("", ".Sent"):
        for part in ("cur", "new", "tmp"):
            (root / folder / part).mkdir(parents=True, exist_ok=True)
    for seq, (when, folder, data) in enumerate(sorted(mails, key=lambda m: m[0])):
        path = root / (f".{folder}" if folder else "") / "cur" / f"{int(when.timestamp())}.{seq}.bench:2,S"
        path.write_bytes(data)
        os.utime(path, (when.timestamp(), when.timestamp()))
