"""Writes a believable sample dealership (Maildir, SMS and call CSVs, config) for `replywatch demo`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from replywatch import clock
from replywatch.demo.adf import LeadFactory
from replywatch.demo.config_text import config_text
from replywatch.demo.mail import lead_mail, stranger_mail
from replywatch.demo.outbox import Outbox, write_calls, write_maildir, write_sms
from replywatch.demo.people import ASSOCIATES, STORES, providers_for
from replywatch.demo.story import Lead, Story
from replywatch.demo.timing import lead_time

__all__ = ["SampleDealership", "write_sample_dealership"]

_DAY_WEIGHTS = (1.25, 1.1, 1.0, 1.0, 0.95, 1.15, 0.6)  # leads per weekday, Monday first
_PROVIDER_WEIGHTS = (0.2, 0.16, 0.16, 0.1, 0.24, 0.14)  # PROVIDERS, then the store's OEM site


@dataclass(frozen=True)
class SampleDealership:
    root: Path
    config_path: Path  # root / "replywatch.toml"
    maildir: Path  # root / "mail"
    sms_csv: Path  # root / "sms.csv"
    calls_csv: Path  # root / "calls.csv"
    leads: int  # how many leads were written
    expected_contacted: int  # how many leads the generator made a real contact for (ground truth)


def write_sample_dealership(
    root: Path, *, seed: int = 7, end: date | None = None, weeks: int = 5
) -> SampleDealership:
    """Writes root/replywatch.toml, root/mail (Maildir), root/sms.csv and root/calls.csv; same seed and end,
    same bytes."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = clock.now().date()
    end = end or today - timedelta(days=today.weekday())
    ends = {s.name: datetime.combine(end, time(0), s.zone).astimezone(UTC) for s in STORES}
    rng = random.Random(seed)
    leads = _make_leads(rng, end, weeks)
    out = Outbox()
    for number in sorted({lead.mail for lead in leads}):
        group = [lead for lead in leads if lead.mail == number]
        when, data = lead_mail(rng, [lead.adf for lead in group], max(lead.received for lead in group))
        if when < ends[group[0].adf.store]:
            out.mails.append((when, "", data))
    contacted = 0
    for lead, role in zip(leads, _roles(rng, leads), strict=True):
        chance = 0.45 + 0.3 * lead.week / max(1, weeks - 1)  # the department improves: a trend to show
        contacted += Story(lead, rng, ends[lead.adf.store], out).tell(role, chance)
    out.mails.append(stranger_mail(rng, min(ends.values()) - timedelta(days=2)))
    root.mkdir(parents=True, exist_ok=True)
    (root / "replywatch.toml").write_text(config_text(), encoding="utf-8")
    write_maildir(root / "mail", out.mails, rng.randint(2000, 60000), min(ends.values()))
    write_sms(root / "sms.csv", out.texts)
    write_calls(root / "calls.csv", out.calls)
    paths = (root / "replywatch.toml", root / "mail", root / "sms.csv", root / "calls.csv")
    return SampleDealership(root, *paths, len(leads), contacted)


def _make_leads(rng: random.Random, end: date, weeks: int) -> list[Lead]:
    factory = LeadFactory(rng, {a.phone for a in ASSOCIATES} | {s.main_line for s in STORES})
    counts = [rng.randint(36, 44) for _ in range(weeks)]
    twins = set(rng.sample(range(sum(counts)), max(1, sum(counts) // 70)))
    leads: list[Lead] = []
    for mail, week in enumerate(w for w, count in enumerate(counts) for _ in range(count)):
        store = rng.choices(STORES, weights=(0.58, 0.42))[0]
        provider = rng.choices(providers_for(store.name), weights=_PROVIDER_WEIGHTS)[0]
        day = end - timedelta(days=7 * (weeks - week) - rng.choices(range(7), weights=_DAY_WEIGHTS)[0])
        received = lead_time(rng, store, day)
        times = [received - timedelta(minutes=rng.randint(1, 4)), received] if mail in twins else [received]
        for at in times:  # twins: a provider batching two leads into one mail
            adf = factory.lead(provider, at, store.name, f"leads@{store.domain}", store.area_codes)
            associate = rng.choice([a for a in ASSOCIATES if a.store is store])
            leads.append(Lead(adf, associate, at.astimezone(UTC), week, mail))
    return leads


def _roles(rng: random.Random, leads: list[Lead]) -> list[str]:
    """A fixed number of leads per special story, so every sample shows each one."""
    n = len(leads)
    roles = ["normal"] * n
    quotas = (
        ("ghost", max(2, n // 70), "first"),
        ("stop", 3, "phone"),
        ("auto", max(2, n // 40), "email"),
        ("crm", max(2, n // 25), "email"),
        ("twice", max(2, n // 35), "email"),
        ("doubt", 3, "email"),
    )
    for role, k, needs in quotas:  # `needs`: the customer field the story cannot do without
        fits = [getattr(lead.adf.customer, needs) for lead in leads]
        pool = [i for i, taken in enumerate(roles) if taken == "normal" and fits[i]]
        for i in rng.sample(pool, min(k, len(pool))):
            roles[i] = role
    return roles
