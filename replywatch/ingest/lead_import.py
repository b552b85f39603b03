"""`leads import`: a lead file into the store. New leads are added, leads a corrected file changes are
updated, and what would quietly go wrong (an associate or store not configured, an address that is no
address) is said per line, with the closest configured name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process, utils

from replywatch.config import Settings
from replywatch.domain.normalize import normalize_email, normalize_phone
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import (
    LeadInput,
    add_leads,
    lookup_keys,
    mark_bounced,
    name_key_rows,
    new_lead,
    refresh_contacts,
)
from replywatch.match.link import Matching, rematch_for_leads
from replywatch.match.policy import MatchPolicy
from replywatch.parse.types import LeadRecord
from replywatch.store import Session
from replywatch.store import leads as rows
from replywatch.store.leads import NewLead, StoredLead

_REMATCH_SLACK = timedelta(days=1)
_CLOSEST_SCORE = 60  # rapidfuzz WRatio: "Jake" finds "Jake Miller", "Hill Country Frod" "Hill Country Ford"


@dataclass(frozen=True)
class LeadImport:
    new: int
    updated: int
    unchanged: int


def lead_warnings(records: Sequence[LeadRecord], directory: Directory, settings: Settings) -> list[str]:
    """What each line would import quietly wrong: `line N: …`, in file order."""
    associates = [a.name for a in settings.associates]
    stores = [s.name for s in settings.stores]
    fallback = directory.default_store.name if directory.default_store else "no store"
    found: list[str] = []
    for record in records:
        where = f"line {record.line}: " if record.line else f"lead {record.external_id}: "
        if record.associate and record.associate.casefold() not in directory.associate_names:
            said = _unknown("associate", record.associate, associates)
            found.append(f"{where}{said}; the lead is imported without an associate")
        store = directory.store(record.store)
        if record.store and store is None:
            found.append(f"{where}{_unknown('store', record.store, stores)}; the lead goes to {fallback}")
        home = store or directory.default_store
        region = home.region if home else "US"
        found += [
            f"{where}email {e!r} is not an email address; not kept"
            for e in record.emails
            if not normalize_email(e)
        ]
        found += [
            f"{where}phone {p!r} is not a phone number (region {region}); not kept"
            for p in record.phones
            if not normalize_phone(p, region)
        ]
    return found


def _unknown(what: str, name: str, configured: list[str]) -> str:
    closest = process.extractOne(
        name, configured, scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=_CLOSEST_SCORE
    )
    hint = f" (closest configured: {closest[0]!r})" if closest else ""
    return f"{what} {name!r} is not configured{hint}"


def import_leads(
    session: Session,
    directory: Directory,
    settings: Settings,
    records: list[LeadRecord],
    now: datetime,
    policy: MatchPolicy,
) -> LeadImport:
    """New leads added and corrected ones updated; the messages they explain re-matched and contact
    recomputed. A field the file leaves empty keeps what is stored."""
    stored = rows.stored_leads(session, [(r.source, r.external_id) for r in records])
    fresh = [LeadInput(r) for r in records if (r.source, r.external_id) not in stored]
    open_days = settings.matching.lead_open_days
    new_ids, affected = add_leads(
        session, directory, fresh, default_store=None, open_days=open_days, now=now, policy=policy
    )
    changes = []
    for record in records:
        old = stored.get((record.source, record.external_id))
        corrected = _corrected(new_lead(directory, LeadInput(record), None), record, old) if old else None
        if old and corrected:
            changes.append((old, corrected))
    if changes:
        affected |= _update(session, directory, changes, Matching(policy, open_days, directory, now))
    refresh_contacts(session, directory, affected, now=now)
    return LeadImport(len(new_ids), len(changes), len(records) - len(new_ids) - len(changes))


def _corrected(fresh: NewLead, record: LeadRecord, old: StoredLead) -> NewLead | None:
    """The lead as the file now describes it, or None when that changes nothing stored."""
    named = bool(record.first_name or record.last_name or record.full_name)
    merged = replace(
        fresh,
        first_name=fresh.first_name if named else old.first_name,
        last_name=fresh.last_name if named else old.last_name,
        full_name=fresh.full_name if named else old.full_name,
        store_id=fresh.store_id if record.store and fresh.store_id else old.store_id,
        associate_id=fresh.associate_id if fresh.associate_id is not None else old.associate_id,
        identities=fresh.identities if (record.emails or record.phones) else [],
    )
    same_identities = {(i.kind, i.value) for i in merged.identities} == old.identities
    keep_identities = not (record.emails or record.phones)
    unchanged = (
        merged.first_name,
        merged.last_name,
        merged.full_name,
        merged.store_id,
        merged.associate_id,
        merged.received_at,
    ) == (old.first_name, old.last_name, old.full_name, old.store_id, old.associate_id, old.received_at)
    if unchanged and (same_identities or keep_identities):
        return None
    if keep_identities:
        merged = replace(merged, identities=[rows.NewIdentity(k, v) for k, v in sorted(old.identities)])
    return merged


def _update(
    session: Session, directory: Directory, changes: list[tuple[StoredLead, NewLead]], matching: Matching
) -> set[int]:
    """Write the corrected leads and re-match the messages of their old and new identities and names."""
    leads = [lead for _, lead in changes]
    ids = [old.id for old, _ in changes]
    mark_bounced(session, leads)
    rows.update_leads(session, list(zip(ids, leads, strict=True)), matching.now)
    rows.insert_name_keys(session, name_key_rows(leads, ids))
    keys = {i.value for lead in leads for i in lead.identities} | {
        v for old, _ in changes for _, v in old.identities
    }
    since = min(min(old.received_at, lead.received_at) for old, lead in changes) - _REMATCH_SLACK
    return set(ids) | rematch_for_leads(session, sorted(keys | lookup_keys(leads)), since, matching)
