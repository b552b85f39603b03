"""The stories of bench/match_eval.py's dealership: who replies how (every hard case), and the noise."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

from match_hard import HardStories, comma_from
from match_world import (
    ASSOCIATES,
    END,
    FIRST,
    FIRST_ES,
    LAST,
    LAST_ES,
    MODELS,
    NICK,
    REPLIES,
    STORES,
    Lead,
    Person,
    World,
    Writer,
    adf,
)

ROLES = (  # (role, share of touched leads)
    ("ghost", 0.33),
    ("thread", 0.24),
    ("fresh", 0.06),
    ("gmail_variant", 0.03),
    ("work_address", 0.05),
    ("sms", 0.17),
    ("spouse_phone", 0.02),
    ("crm", 0.03),
    ("twice", 0.02),
    ("stop", 0.02),
    ("auto_then", 0.03),
    ("comma_name", 0.06),
)


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


class Dealership:
    def __init__(self, seed: int, leads: int, weeks: int) -> None:
        self.rng, self.count, self.weeks = random.Random(seed), leads, weeks
        self.world = World()
        self.out = Writer(self.rng, self.world)
        self.phones = 0
        self.repeats: set[str] = set()  # a shopper's later lead
        self.duplicates: set[str] = set()  # leads the BDC merged into a later one: never followed up

    def build(self) -> World:
        leads = self._leads()
        for lead in leads:
            self._notice(lead)
        households = self._households(leads)
        for lead in leads:
            if lead.lead_id not in households:
                self._story(lead)
        hard = HardStories(self.rng, self.world, self.out, self)
        hard.several_leads(self.count // 60)
        hard.corrections(max(4, self.count // 250))
        self._noise(leads)
        return self.world

    def person(self, spanish: bool | None = None) -> Person:
        rng = self.rng
        spanish = rng.random() < 0.25 if spanish is None else spanish
        first, last = rng.choice(FIRST_ES if spanish else FIRST), rng.choice(LAST_ES if spanish else LAST)
        if rng.random() < 0.04:
            first, last = rng.choice((("John", "Smith"), ("María", "García"), ("Michael", "Brown")))
        self.phones += 1
        phone = (
            f"+1{rng.choice(('512', '737', '303', '720'))}55{self.phones:05d}"
            if rng.random() < 0.75
            else None
        )
        domain = rng.choice(("gmail.com", "gmail.com", "mail.example", "example.net", "inbox.example"))
        local = rng.choice(
            (f"{plain(first)}.{plain(last)}", f"{plain(first)[0]}{plain(last)}{rng.randint(1, 99)}")
        )
        email = f"{local}{rng.randint(1, 9999)}@{domain}" if phone is None or rng.random() < 0.85 else None
        return Person(first, last, email, phone)

    def _leads(self) -> list[Lead]:
        rng, leads = self.rng, []
        start = END - timedelta(weeks=self.weeks)
        while len(leads) < self.count:
            n = len(leads)
            when = start + timedelta(seconds=rng.randint(0, self.weeks * 7 * 86400 - 3 * 86400))
            store = rng.randint(0, 1)
            assoc = rng.choice([i for i, a in enumerate(ASSOCIATES) if a[1] == store])
            lead = Lead(f"B{n:05d}", self.person(), store, assoc, when, rng.choice(MODELS))
            if lead.person.email and rng.random() < 0.08:
                lead.relay = f"{rng.getrandbits(48):012x}@relay.marketplace.example"
            leads.append(lead)
            roll = rng.random()
            if roll < 0.04:  # a repeat shopper, weeks later
                later = when + timedelta(days=rng.randint(20, 45))
                if later < END - timedelta(days=3):
                    leads.append(Lead(f"B{n + 1:05d}", lead.person, store, assoc, later, rng.choice(MODELS)))
                    self.repeats.add(
                        f"B{n + 1:05d}"
                    )  # "I sent a request earlier" would go to the touched one
            elif roll < 0.06:  # the same shopper through a second provider, within the hour: the BDC
                later = when + timedelta(minutes=rng.randint(5, 60))  # follows up the later one only
                leads.append(Lead(f"B{n + 1:05d}", lead.person, store, assoc, later, lead.model))
                self.duplicates.add(lead.lead_id)
        return leads

    def _notice(self, lead: Lead) -> None:
        _, domain, _ = STORES[lead.store]
        when = lead.received + timedelta(seconds=self.rng.randint(20, 200))
        self.out.mail(
            when, "Bench Leads <leads@bench-provider.example>", f"leads@{domain}", "New lead", adf(lead)
        )

    def _households(self, leads: list[Lead]) -> set[str]:
        """Couples: two leads, one phone; we text each; the reply belongs to the one we texted last."""
        done: set[str] = set()
        phoned = [lead for lead in leads if lead.person.phone and lead.received < END - timedelta(days=12)]
        for first in self.rng.sample(phoned, len(leads) // 50):
            if first.lead_id in done:
                continue
            partner = Person(self.rng.choice(FIRST), first.person.last, None, first.person.phone)
            when = first.received + timedelta(days=self.rng.randint(0, 5), minutes=17)
            second = Lead(
                f"H{len(done):05d}", partner, first.store, first.associate, when, self.rng.choice(MODELS)
            )
            leads.append(second)
            self._notice(second)
            ours = ASSOCIATES[first.associate][3]
            t1, t2 = first.received + timedelta(minutes=30), second.received + timedelta(minutes=30)
            self.out.text(
                t1,
                ours,
                first.person.phone or "",
                f"Hi {first.person.first}, it's Dana about the {first.model}",
                False,
            )
            self.out.text(
                t2, ours, second.person.phone or "", f"Hi {partner.first}, thanks for your interest!", False
            )
            at = max(t1, t2) + timedelta(hours=2)
            sid = self.out.text(at, partner.phone or "", ours, "Yes! When can we come?", True)
            self.world.note_reply(sid, second if t2 > t1 else first, at)
            done |= {first.lead_id, second.lead_id}
            self._case("household")
        return done

    def _touch(self, lead: Lead) -> tuple[datetime, str | None]:
        """Our follow-up by mail and/or text; (time, Message-ID of the mail)."""
        rng, p = self.rng, lead.person
        name, local, phone = (
            ASSOCIATES[lead.associate][0],
            ASSOCIATES[lead.associate][2],
            ASSOCIATES[lead.associate][3],
        )
        ours = f"{name} <{local}@{STORES[lead.store][1]}>"
        when = lead.received + timedelta(minutes=rng.randint(5, 240))
        msgid = None
        if lead.relay or p.email:
            body = f"Hi {p.first},\n\nAbout the {lead.model}: when can you come?\n\n{name}\n"
            msgid = self.out.mail(when, ours, lead.relay or p.email or "", f"Your {lead.model}", body, "Sent")
        if p.phone and (msgid is None or rng.random() < 0.5):
            self.out.text(
                when + timedelta(minutes=3), phone, p.phone, f"Hi {p.first}, {name.split()[0]} here!", False
            )
        return when, msgid

    def _story(self, lead: Lead) -> None:
        rng, p = self.rng, lead.person
        if rng.random() < 0.05 or lead.lead_id in self.duplicates:
            return  # never followed up
        role = rng.choices([r for r, _ in ROLES], weights=[w for _, w in ROLES])[0]
        if role == "twice" and (lead.relay or p.email) and lead.lead_id not in self.repeats:
            self._unprompted(lead)
        when, msgid = self._touch(lead)
        at = when + timedelta(minutes=rng.randint(10, 2880))
        ours = f"{ASSOCIATES[lead.associate][2]}@{STORES[lead.store][1]}"
        address = lead.relay or p.email
        self._case(role)
        if role == "ghost":
            return
        if role in ("sms", "spouse_phone", "stop") or not address:
            self._sms_reply(lead, role, at)
        elif role == "thread" and msgid:
            key = self.out.mail(
                at,
                f"{p.first} {p.last} <{address}>",
                ours,
                f"Re: Your {lead.model}",
                rng.choice(REPLIES),
                headers={"In-Reply-To": msgid, "References": msgid},
            )
            self.world.note_reply(key, lead, at)
        elif role == "gmail_variant" and address.endswith("@gmail.com"):
            local, domain = address.split("@")
            variant = f"{local.replace('.', '')}+cars@{domain}"
            self.world.note_reply(self.out.mail(at, variant, ours, "question", rng.choice(REPLIES)), lead, at)
        elif role == "work_address":
            first = NICK.get(p.first, p.first) if rng.random() < 0.5 else p.first
            company = rng.choice(("acme", "globex", "initech"))
            sender = f"{first} {p.last} <{plain(first)[0]}{plain(p.last)}@{company}.example>"
            body = f"Hi, it's {first}. Is the {lead.model} still there? Writing from work."
            self.world.note_reply(self.out.mail(at, sender, ours, f"{lead.model} question", body), lead, at)
        elif role == "comma_name":
            raw, shape = comma_from(rng, p, address)
            key = self.out.mail(at, "", ours, "hello", rng.choice(REPLIES), raw_from=raw)
            self.world.note_reply(key, lead, at)
            self.world.classes[key] = "comma in the display name"
            self._case(f"comma_name_{shape}")
        elif role == "crm":
            crm = self.out.msgid("crm.example")
            key = self.out.mail(
                at,
                f"{p.first} {p.last} <{address}>",
                ours,
                "Re: Your inquiry",
                rng.choice(REPLIES),
                headers={"In-Reply-To": crm, "References": crm},
            )
            self.world.note_reply(key, lead, at)
        elif role == "auto_then" and msgid:
            auto = "I am out of the office until Monday."
            self.out.mail(
                when + timedelta(seconds=40),
                address,
                ours,
                f"Automatic reply: Your {lead.model}",
                auto,
                headers={"Auto-Submitted": "auto-replied", "In-Reply-To": msgid},
            )
            at += timedelta(days=2)
            self.world.note_reply(
                self.out.mail(at, address, ours, f"Re: Your {lead.model}", "Back now, yes!"), lead, at
            )
        else:
            self.world.note_reply(
                self.out.mail(at, f"{p.first} {p.last} <{address}>", ours, "hello", "Still available?"),
                lead,
                at,
            )

    def _sms_reply(self, lead: Lead, role: str, at: datetime) -> None:
        p, ours = lead.person, ASSOCIATES[lead.associate][3]
        if role == "stop" and p.phone:
            self.out.text(at, p.phone, ours, "STOP", True)
        elif role == "spouse_phone" or not p.phone:
            self.phones += 1
            spouse = f"+1737{self.phones:07d}"
            first = NICK.get(p.first, p.first)
            sid = self.out.text(
                at, spouse, ours, f"Hi, this is {first} {p.last}, texting from my wife's phone", True
            )
            self.world.note_reply(sid, lead, at)
        else:
            self.world.note_reply(self.out.text(at, p.phone, ours, self.rng.choice(REPLIES), True), lead, at)

    def _unprompted(self, lead: Lead) -> None:
        """The customer writes again before anyone answered: a reply, but not contact."""
        p = lead.person
        at = lead.received + timedelta(minutes=2)
        key = self.out.mail(
            at,
            f"{p.first} {p.last} <{lead.relay or p.email}>",
            f"leads@{STORES[lead.store][1]}",
            f"Is the {lead.model} still available?",
            "I sent a request earlier.",
        )
        self.world.note_reply(key, lead, at, counts=False)

    def _noise(self, leads: list[Lead]) -> None:
        rng, out = self.rng, self.out
        start = END - timedelta(weeks=self.weeks)
        for n in range(len(leads) // 8):
            at = start + timedelta(seconds=rng.randint(0, self.weeks * 7 * 86400))
            store = STORES[rng.randint(0, 1)]
            kind = rng.choice(("list", "list", "bounce", "internal", "stranger"))
            if kind == "list":
                out.mail(
                    at,
                    "Dealer News <news@dealernews.example>",
                    f"leads@{store[1]}",
                    "This week in auto retail",
                    "Top stories...",
                    headers={"List-Id": "<news.dealernews.example>", "List-Unsubscribe": "<mailto:u@x>"},
                )
            elif kind == "bounce":
                lead = rng.choice(leads)
                out.mail(
                    at,
                    "Mail Delivery System <MAILER-DAEMON@mx.example>",
                    f"dana@{store[1]}",
                    "Undelivered Mail Returned to Sender",
                    f"Delivery to {lead.person.email} failed: user unknown",
                    headers={"Auto-Submitted": "auto-replied"},
                )
            elif kind == "internal":
                out.mail(
                    at,
                    f"Dana Lee <dana@{STORES[0][1]}>",
                    f"marcus@{STORES[0][1]}",
                    "lunch?",
                    "Tacos at 1?",
                    "Sent",
                )
            else:  # a person who is no lead: a vendor, a job seeker; now and then with a lead's name
                who = rng.choice(leads).person if rng.random() < 0.1 else self.person()
                key = out.mail(
                    at,
                    f"{who.first} {who.last} <{plain(who.first)}@vendor{n}.example>",
                    f"dana@{store[1]}",
                    "Invoice",
                    "Please find our invoice for the detailing work.",
                )
                self.world.note_reply(key, None, at)

    def _case(self, name: str) -> None:
        self.world.cases[name] = self.world.cases.get(name, 0) + 1
