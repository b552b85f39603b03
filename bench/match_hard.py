"""The last error classes of bench/match_eval.py's dealership: display names with commas (in every shape
mail has), one shopper with two or three open leads and a reply that tells them apart, and reviewer
corrections that overturn a wrong link followed by more mail from the same address."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.header import Header

from match_world import ASSOCIATES, END, MODELS, REPLIES, STORES, Correction, Lead, Person, World, Writer

# How a mail client or relay writes "Kate Martinez <k@x>" when it does not write it so.
COMMA_SHAPES = ("unquoted", "quoted", "encoded", "no_brackets", "unclosed", "several_from")


def comma_from(rng: random.Random, person: Person, address: str) -> tuple[str, str]:
    """A From header in one of COMMA_SHAPES, and the shape's name."""
    shape = rng.choice(COMMA_SHAPES)
    first, last = person.first, person.last
    written = {
        "unquoted": f"{last}, {first} <{address}>",
        "quoted": f'"{last}, {first}" <{address}>',
        "encoded": f"{Header(f'{last}, {first}', 'utf-8').encode()} <{address}>",
        "no_brackets": f"{first} {last} {address}",
        "unclosed": f"{last}, {first} <{address}",
        "several_from": f"{last}, {first} <{address}>, {last} Family <{_family(rng)}>",
    }[shape]
    return written, shape


def _family(rng: random.Random) -> str:
    return f"family{rng.randint(1, 999)}@home.example"


class HardStories:
    """Adds the stories to a world, through the dealership's writer and helpers."""

    def __init__(self, rng: random.Random, world: World, out: Writer, dealership: object) -> None:
        self.rng, self.world, self.out, self.d = rng, world, out, dealership

    def several_leads(self, count: int) -> None:
        """Shoppers with two or three open leads (one store or two); the reply names one by its thread,
        the associate or store it is written to, or the car; often not the latest lead."""
        for n in range(count):
            evidence = self.rng.choice(("thread", "associate", "associate", "vehicle", "vehicle"))
            person = self.d.person()  # type: ignore[attr-defined]
            leads = self._leads_of(person, n, evidence)
            touched = [(lead, *self.d._touch(lead)) for lead in leads]  # type: ignore[attr-defined]
            target, _, msgid = self.rng.choice(touched)
            at = max(when for _, when, _ in touched) + timedelta(minutes=self.rng.randint(60, 2000))
            self._reply(person, target, evidence, msgid, at)
            case = f"several_leads_{evidence}"
            self.world.cases[case] = self.world.cases.get(case, 0) + 1

    def _leads_of(self, person: Person, n: int, evidence: str) -> list[Lead]:
        rng = self.rng
        count = rng.choice((2, 2, 3))
        when = END - timedelta(days=rng.randint(20, 80))
        models = rng.sample(MODELS, count)
        if evidence == "vehicle":  # one associate for all: only the car tells them apart
            associates = [rng.randrange(len(ASSOCIATES))] * count
        else:  # each lead with its own associate, at one store or two
            associates = rng.sample(range(len(ASSOCIATES)), count)
        leads = []
        for k in range(count):
            assoc = associates[k]
            lead = Lead(f"P{n:04d}{k}", person, ASSOCIATES[assoc][1], assoc, when, models[k])
            leads.append(lead)
            self.d._notice(lead)  # type: ignore[attr-defined]
            when += timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
        return leads

    def _reply(self, person: Person, target: Lead, evidence: str, msgid: str | None, at: datetime) -> None:
        _, _, local, phone = ASSOCIATES[target.associate]
        ours = f"{local}@{STORES[target.store][1]}"
        body = (
            self.rng.choice(REPLIES) if evidence != "vehicle" else f"Is the {target.model} still available?"
        )
        if not person.email:
            key = self.out.text(at, person.phone or "", phone, body, True)
        elif evidence == "thread" and msgid:
            key = self.out.mail(
                at,
                f"{person.first} {person.last} <{person.email}>",
                ours,
                f"Re: Your {target.model}",
                self.rng.choice(REPLIES),
                headers={"In-Reply-To": msgid, "References": msgid},
            )
        else:
            key = self.out.mail(at, f"{person.first} {person.last} <{person.email}>", ours, "question", body)
        self.world.note_reply(key, target, at)
        self.world.classes[key] = f"several leads: {evidence}"

    def corrections(self, count: int) -> None:
        """Two namesakes' leads; the right one writes from a work address neither lead has: the reviewer
        first accepts the reply for the namesake, the next mail follows that link on its own, then the
        reviewer corrects both; more mail from the address comes after."""
        for n in range(count):
            self._correction(n)

    def _correction(self, n: int) -> None:
        rng, d = self.rng, self.d
        right_person = d.person(False)  # type: ignore[attr-defined]
        namesake = Person(
            right_person.first, right_person.last, f"other.{n}.{rng.randint(1, 9999)}@mail.example", None
        )
        right_person.email = right_person.email or f"right.{n}@mail.example"
        when = END - timedelta(days=rng.randint(25, 60))
        assoc = rng.choice([i for i, a in enumerate(ASSOCIATES) if a[1] == 0])
        right = Lead(f"C{n:04d}R", right_person, 0, assoc, when, rng.choice(MODELS))
        wrong = Lead(f"C{n:04d}W", namesake, 0, assoc, when + timedelta(days=2), rng.choice(MODELS))
        for lead in (right, wrong):
            d._notice(lead)  # type: ignore[attr-defined]
            d._touch(lead)  # type: ignore[attr-defined]
        work = f"{right_person.first[0].lower()}{right_person.last.lower()}@work{n}.example"
        sender = f"{right_person.first} {right_person.last} <{work}>"
        ours = f"{ASSOCIATES[assoc][2]}@{STORES[0][1]}"
        at = wrong.received + timedelta(days=1)
        first = self.out.mail(at, sender, ours, "from work", "Writing from my work address. Still there?")
        follow = self.out.mail(at + timedelta(days=1), sender, ours, "again", "Any news on the price?")
        late = [
            self.out.mail(at + timedelta(days=k), sender, ours, "hello", "Can we meet Saturday?", late=True)
            for k in (3, 5)
        ]
        self.world.corrections.append(Correction(first, follow, late, right.lead_id, wrong.lead_id, at))
        self.world.cases["correction"] = self.world.cases.get("correction", 0) + 1
