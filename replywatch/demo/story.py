"""One lead's story in the demo: our follow-ups by mail and text, the customer's replies, and the noise."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address

from replywatch.demo import phrases
from replywatch.demo.adf import AdfLead
from replywatch.demo.mail import CRM_DOMAIN, Route, message, message_id, quote, thread
from replywatch.demo.outbox import Outbox
from replywatch.demo.people import Associate, human_phone
from replywatch.demo.timing import open_at, reply_time, touch_time

WORK_DOMAIN = "acme-logistics.example"


_SLIPS = str.maketrans("aeiou", "eaeao")


def _misspelt(surname: str) -> str:
    """One slip: the first vowel after the initial swapped for another (García → Gercía)."""
    for i, ch in enumerate(surname[1:], 1):
        if ch in "aeiou":
            return surname[:i] + ch.translate(_SLIPS) + surname[i + 1 :]
    return surname + "e"


@dataclass(frozen=True)
class Lead:
    adf: AdfLead
    associate: Associate  # only the generator knows; the pipeline infers it from who writes
    received: datetime  # UTC
    week: int
    mail: int  # leads with the same number arrive in one mail


@dataclass(frozen=True)
class Touch:
    channel: str  # email | sms | call
    when: datetime
    msgid: str = ""
    subject: str = ""
    body: str = ""


class Story:
    """One lead's follow-ups and replies; what would happen after the end date is left out."""

    def __init__(self, lead: Lead, rng: random.Random, end: datetime, out: Outbox) -> None:
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
        if role == "doubt":  # followed up, then a note only a person can place: it waits for review
            self._from_work(self._touches("normal", self.lead.received)[0])
            return False
        start = self._unprompted() if role == "twice" else self.lead.received
        touches = self._touches(role, start)
        if role == "stop":  # its SMS touch comes last
            when = reply_time(self.rng, self.store, touches[-1].when)
            self.text(when, self.rng.choice(("STOP", "Stop")), True)
            return False
        if role == "normal" and self.customer.phone and self.rng.random() < 0.3:
            talked = self._phone_call(touches[0].when)
            if talked is not None:
                return talked < self.end
        if role == "auto":  # its email touch comes first; the human answer waits for the customer's return
            start = self._auto_reply(touches[0]) + timedelta(days=self.rng.randint(1, 3))
        if self.rng.random() >= (0.5 if role in ("auto", "twice") else chance):
            return False
        touch = self.rng.choice(touches)
        return self._reply(touch, max(start, touch.when)) < self.end

    def email(self, when: datetime, route: Route, subject: str, body: str, headers: dict[str, str]) -> str:
        msgid = message_id(self.rng, route[0].domain)
        if when < self.end:
            msg = message(when.astimezone(self.store.zone), route, subject, body, msgid)
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

    def call(self, when: datetime, inbound: bool, seconds: int, status: str, answered_by: str = "") -> None:
        """A call between the customer and the associate; the customer's calls go to the store's main
        line, which forwards them to the associate's phone (`dialed`) when someone picks up."""
        theirs = self.customer.phone or ""
        if when >= self.end:
            return
        if inbound:
            dialed = self.associate.phone if status == "completed" else ""
            ends = (human_phone(self.rng, theirs), self.store.main_line, dialed, "inbound")
        else:
            ends = (self.associate.phone, human_phone(self.rng, theirs), "", "outbound")
        sid = f"CL{self.rng.getrandbits(96):024x}"
        self.out.calls.append((when, sid, *ends, seconds, status, answered_by))

    def _phone_call(self, after: datetime) -> datetime | None:
        """The associate phones the lead: they talk (on our call, or the customer's call back that the
        main line forwards), or it reaches voicemail, or nobody answers and the customer's call back is
        missed. Returns when they talked (contact), None when they did not."""
        rng = self.rng
        when = open_at(self.store, after + timedelta(minutes=rng.randint(5, 90)))
        outcome = rng.random()
        if outcome < 0.4:
            self.call(when, rng.random() < 0.5, rng.randint(45, 900), "completed", rng.choice(("human", "")))
            return when
        if outcome < 0.7:
            self.call(when, False, rng.randint(15, 70), "completed", "machine")  # a voicemail
            return None
        self.call(when, False, 0, "no-answer")
        if rng.random() < 0.5:
            self.call(when + timedelta(minutes=rng.randint(20, 240)), True, 0, "no-answer")
        return None

    def _touches(self, role: str, start: datetime) -> list[Touch]:
        rng, c, a, v = self.rng, self.customer, self.associate, self.lead.adf.vehicle
        by_email = c.email is not None and (role == "auto" or c.phone is None or rng.random() < 0.9)
        by_sms = c.phone is not None and (role == "stop" or not by_email or rng.random() < 0.5)
        when = touch_time(rng, self.store, start, 0.4 + 0.05 * self.lead.week)  # they get faster too
        touches = []
        if by_email:
            subject = rng.choice(phrases.FOLLOW_UP_SUBJECTS)
            subject = subject.format(vehicle=v.title, store=self.store.name, model=v.model, first=c.first)
            pitch = rng.choice(phrases.FOLLOW_UP_PITCHES)
            body = f"Hi {c.first},\n\nThanks for reaching out about the {v.title}. {pitch}\n\n"
            body += f"Best,\n{a.name}\nInternet Sales, {self.store.name}\n{human_phone(rng, a.phone)}\n"
            msgid = self.email(when, self.outbound, subject, body, {})
            touches.append(Touch("email", when, msgid, subject, body))
        if by_sms:
            at = when + timedelta(seconds=rng.randint(60, 900)) if by_email else when
            hello = f"Hi {c.first}, this is {a.name.split()[0]} with {self.store.name}."
            self.text(
                at, f"{hello} Thanks for your interest in the {v.title}! When can you come see it?", False
            )
            touches.append(Touch("sms", at))
        return touches

    def _reply(self, touch: Touch, after: datetime) -> datetime:
        rng, a = self.rng, self.associate
        when = reply_time(rng, self.store, after)
        spanish = self.customer.spanish and rng.random() < 0.5
        if touch.channel == "sms":
            self.text(when, rng.choice(phrases.TEXTS_ES if spanish else phrases.TEXTS), True)
            if rng.random() < 0.4:
                answer = open_at(self.store, when + timedelta(minutes=rng.randint(3, 60)))
                self.text(answer, "Great, thanks! I'll send you the details shortly.", False)
            return when
        text = rng.choice(phrases.REPLIES_ES if spanish else phrases.REPLIES)
        if rng.random() < 0.8:
            body = text + quote(touch.body, touch.when.astimezone(self.store.zone), f"{a.name} <{a.email}>")
            reply_id = self.email(when, self.inbound, f"Re: {touch.subject}", body, thread(touch.msgid))
        else:  # a fresh mail, or a client that drops the thread headers: it matches by address only
            subject = rng.choice((f"Re: {touch.subject}", f"{self.lead.adf.vehicle.model} question"))
            reply_id = self.email(when, self.inbound, subject, text + "\n", {})
        if rng.random() < 0.4:
            answer = open_at(self.store, when + timedelta(minutes=rng.randint(5, 120)))
            body = f"Hi {self.customer.first},\n\nSounds good, I'll get that over to you today.\n\n{a.name}\n"
            self.email(answer, self.outbound, f"Re: {touch.subject}", body, thread(touch.msgid, reply_id))
        return when

    def _crm_reply(self) -> bool:
        """Our follow-up went out from a CRM: only the customer's answer, naming it, reaches the inbox."""
        rng, lead = self.rng, self.lead
        crm_at = touch_time(rng, self.store, lead.received, 0.5)
        when = reply_time(rng, self.store, crm_at)
        crm_text = f"Hi {self.customer.first}, thank you for your inquiry on the {lead.adf.vehicle.title}!"
        quoted = quote(crm_text, crm_at.astimezone(self.store.zone), self.associate.name)
        body = rng.choice(phrases.REPLIES) + quoted
        subject = f"Re: Your inquiry with {self.store.name}"
        self.email(when, self.inbound, subject, body, thread(message_id(rng, CRM_DOMAIN)))
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

    def _from_work(self, touch: Touch) -> None:
        """The customer writes from a work address, signing a misspelt name, to the store's inbox: the
        name alone ties it to the lead, not strongly enough to decide without a person."""
        adf, c = self.lead.adf, self.customer
        when = reply_time(self.rng, self.store, touch.when)
        signed = f"{c.first} {_misspelt(c.last)}"
        sender = Address(signed, addr_spec=f"purchasing{self.rng.randint(10, 99)}@{WORK_DOMAIN}")
        route = (sender, Address(f"{adf.store} Internet Sales", addr_spec=adf.store_email))
        body = f"Hello, writing from work. Could someone call me back this afternoon?\n\n{signed}\n"
        self.email(when, route, "Call back please", body, {})

    def _auto_reply(self, touch: Touch) -> datetime:
        prefix, body = self.rng.choice(phrases.AUTO_REPLIES)
        when = touch.when + timedelta(seconds=self.rng.randint(20, 180))
        headers = {"Auto-Submitted": "auto-replied", **thread(touch.msgid)}
        if prefix.startswith("Automatic"):
            headers["X-Auto-Response-Suppress"] = "All"  # Exchange puts it on its auto-replies as well
        self.email(when, self.inbound, prefix + touch.subject, body + "\n", headers)
        return when
