"""Verbs for the resolution team: choosing it, sending it the frozen case, its votes, recusals,
the count, and closing it.

The count's rules (quorum, majority, tie, early close) are data in the workflow definition's
``panel:`` section (``PanelRules``); this module only reads them. Like every verb, none of these
commit: the request or the worker does, once.

Conflicts of interest come in two kinds. Some are absolute and refused outright: the member is the
dispute's manager or its resident, or the company listed the dispute's property or portfolio as one
they must not judge. A reporting line with the dispute's manager (the member reports to them, or is
one of the company's supervisors) is flagged and refused unless the manager seats the member anyway
with a ``conflict_note`` saying why; the note is kept on the seat and in the history.
"""
from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..actors import Actor
from ..clock import now_utc
from ..errors import DeadlinePassed, InvalidInput, NotAllowed, WrongState
from ..extensions import db
from ..links import current_link, issue_link, link_url, revoke_links
from ..models import (
    AuditEvent, CasePacket, Dispute, EvidenceFile, PanelMember, PanelSeat, StaffUser, Submission, Unit, Vote,
    VoteRevision,
)
from ..models.panel import CHOICES
from ..outbox import queue_email
from ..workdays import format_moment
from ..workflow.definition import PanelRules
from ..workflow.engine import dispute_engine
from .access import check_version, require_staff

# A vote link stops working when the panel closes (it is revoked then); this is only the backstop.
LINK_GRACE = timedelta(days=30)
MAX_REASON = 5000
VOTE_FIELDS = ("choice", "reason", "token_kind", "token_cents", "concession_cents", "item_choices")
CHOICE_LABELS = {
    "uphold": "the company's position stands",
    "resident": "the resident's suggested resolution is granted",
    "compromise": "a compromise is fairer",
}


KNOWN_EARLY_CLOSE = ("everyone_voted", "result_cannot_change")


def rules() -> PanelRules:
    """The count's rules, from the workflow definition's ``panel:`` section."""
    panel_rules = dispute_engine.definition.panel
    unknown = [name for name in panel_rules.early_close if name not in KNOWN_EARLY_CLOSE]
    if unknown or panel_rules.tie != "deadlocked":
        raise ValueError(f"the workflow's panel rules name what Resolver does not know: "
                         f"{', '.join(unknown) or 'tie: ' + panel_rules.tie}")
    return panel_rules


# Conflicts of interest ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Conflict:
    text: str
    is_absolute: bool  # refused whatever the manager says


def _dispute_property(dispute: Dispute):
    unit = dispute.unit or (dispute.resident.unit if dispute.resident else None)
    return unit.property if unit is not None else None


def _conflicts(dispute: Dispute, member: PanelMember, supervisors: set[str] | None = None) -> list[Conflict]:
    """``supervisors``: the dispute's ``_supervisor_emails``, when the caller checks several members."""
    found: list[Conflict] = []
    email = (member.email or "").strip().lower()
    manager = dispute.manager
    if manager is not None and email and email == (manager.email or "").strip().lower():
        found.append(Conflict(f"{member.name} is the manager of this dispute", True))
    if dispute.resident is not None and email and email == (dispute.resident.email or "").strip().lower():
        found.append(Conflict(f"{member.name} is the resident in this dispute", True))
    prop = _dispute_property(dispute)
    if prop is not None:
        if prop.id in (member.excluded_property_ids or []):
            found.append(Conflict(f"{member.name} must not judge disputes at {prop.name}", True))
        portfolios = {str(p).strip().lower() for p in (member.excluded_portfolios or [])}
        if prop.portfolio and prop.portfolio.strip().lower() in portfolios:
            found.append(Conflict(f"{member.name} must not judge the {prop.portfolio} portfolio", True))
    if manager is not None and member.reports_to_id == manager.id:
        found.append(Conflict(f"{member.name} reports to {manager.name}, the manager of this dispute", False))
    if supervisors is None and manager is not None and email:
        supervisors = _supervisor_emails(dispute)
    if manager is not None and email and email in supervisors:
        found.append(Conflict(f"{member.name} supervises {manager.name}, the manager of this dispute", False))
    return found


def _supervisor_emails(dispute: Dispute) -> set[str]:
    """The company's supervisors: the manager's own reporting line, upwards."""
    emails = set(db.session.scalars(_supervisors_query(),
                                    {"company_id": dispute.company_id, "manager_id": dispute.manager_id}))
    emails.add(dispute.company.supervisor_email or "")
    return {e.strip().lower() for e in emails if e and e.strip().lower() != (dispute.manager.email or "").lower()}


def conflicts_for(dispute: Dispute, member: PanelMember | None = None):
    """The conflicts of interest ``member`` has on ``dispute``, as sentences (empty: none).

    Without a member: ``{member id: "the conflicts, joined"}`` for everyone on the company's active
    roster who has one, for the page where the manager picks the team.
    """
    if member is not None:
        return [c.text for c in _conflicts(dispute, member)]
    roster = db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == dispute.company_id, PanelMember.is_active.is_(True))
    )
    found = {}
    supervisors = _supervisor_emails(dispute)
    for person in roster:
        texts = [c.text for c in _conflicts(dispute, person, supervisors)]
        if texts:
            found[person.id] = "; ".join(texts)
    return found


def _open_seat_counts(company_id: int) -> dict[int, int]:
    """How many teams still reviewing each roster member sits on: proposals spread the work."""
    rows = db.session.execute(
        select(PanelSeat.panel_member_id, func.count())
        .join(Dispute, Dispute.id == PanelSeat.dispute_id)
        .where(Dispute.company_id == company_id, Dispute.state == "panel_review", PanelSeat.recused_dt.is_(None))
        .group_by(PanelSeat.panel_member_id)
    )
    return dict(rows.all())


def propose_panel(dispute: Dispute, *, size: int | None = None) -> list[PanelMember]:
    """A team of the company's size: active, unconflicted members with the fewest open cases,
    the regular roster before the reserve."""
    size = size or dispute.company.panel_size or rules().size
    seated = set(db.session.scalars(select(PanelSeat.panel_member_id).where(PanelSeat.dispute_id == dispute.id)))
    load = _open_seat_counts(dispute.company_id)
    roster = db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == dispute.company_id, PanelMember.is_active.is_(True))
    ).all()
    supervisors = _supervisor_emails(dispute)
    fit = [m for m in roster if m.id not in seated and not _conflicts(dispute, m, supervisors)]
    fit.sort(key=lambda m: (m.is_reserve, load.get(m.id, 0), m.id))
    return fit[:size]


def propose_replacement(dispute: Dispute) -> PanelMember | None:
    """Someone from the roster's reserve (else anyone free) to take a recused member's seat."""
    seated = set(db.session.scalars(select(PanelSeat.panel_member_id).where(PanelSeat.dispute_id == dispute.id)))
    load = _open_seat_counts(dispute.company_id)
    roster = db.session.scalars(
        select(PanelMember).where(PanelMember.company_id == dispute.company_id, PanelMember.is_active.is_(True))
    ).all()
    supervisors = _supervisor_emails(dispute)
    fit = [m for m in roster if m.id not in seated and not _conflicts(dispute, m, supervisors)]
    fit.sort(key=lambda m: (not m.is_reserve, load.get(m.id, 0), m.id))
    return fit[0] if fit else None


# Choosing the team -------------------------------------------------------------------------------

def _audit(dispute: Dispute, actor: Actor, action: str, now: datetime, *, reason: str = "", data=None) -> None:
    db.session.add(
        AuditEvent(
            dispute_id=dispute.id, occurred_dt=now, actor_kind=actor.kind, actor_id=actor.id,
            actor_label=actor.label, action=action, from_state=dispute.state, to_state=dispute.state,
            reason=reason, data=data or {},
        )
    )


def _members(dispute: Dispute, member_ids) -> list[PanelMember]:
    ids = []
    for raw in member_ids:
        try:
            member_id = int(raw)
        except (TypeError, ValueError):
            raise InvalidInput("A team member was not recognised.", field="member_ids") from None
        if member_id in ids:
            raise InvalidInput("A member was chosen twice.", field="member_ids")
        ids.append(member_id)
    found = {m.id: m for m in db.session.scalars(select(PanelMember).where(PanelMember.id.in_(ids)))} if ids else {}
    members = []
    for member_id in ids:
        member = found.get(member_id)
        if member is None or member.company_id != dispute.company_id:
            raise InvalidInput("A chosen member is not on this company's roster.", field="member_ids")
        if not member.is_active:
            raise InvalidInput(f"{member.name} is no longer on the active roster.", field="member_ids")
        members.append(member)
    return members


def _check_conflicts(dispute: Dispute, members: list[PanelMember], conflict_note: str) -> dict[int, str]:
    """Refuse absolute conflicts; refuse the others unless the manager gave a note. Returns the
    accepted ones per member id."""
    absolute, acceptable, accepted = [], [], {}
    supervisors = _supervisor_emails(dispute)
    for member in members:
        for conflict in _conflicts(dispute, member, supervisors):
            (absolute if conflict.is_absolute else acceptable).append(conflict.text)
            if not conflict.is_absolute:
                accepted[member.id] = "; ".join(filter(None, [accepted.get(member.id), conflict.text]))
    if absolute:
        raise InvalidInput("Conflict of interest: " + "; ".join(absolute) + ". Choose someone else.",
                           field="member_ids")
    if acceptable and not conflict_note:
        raise InvalidInput("Conflict of interest: " + "; ".join(acceptable) + ". Choose someone else, or seat "
                           "them anyway with a note saying why.", field="conflict_note")
    return {member_id: f"{text}. Accepted: {conflict_note}" for member_id, text in accepted.items()}


def seat_panel(
    actor: Actor, dispute: Dispute, member_ids, chair_id: int | None = None, *, conflict_note: str = "",
    expected_version: int | None = None,
) -> list[PanelSeat]:
    """Choose the team (an odd number of members) before the case is sent; choosing again replaces it."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state != "evidence_received":
        raise WrongState(f"The team can be chosen once the resident's side has arrived and before the case is sent; "
                         f"this dispute is {dispute.state_label}.")
    members = _members(dispute, member_ids)
    if not members:
        raise InvalidInput("Choose the members of the resolution team.", field="member_ids")
    if len(members) % 2 == 0:
        raise InvalidInput(f"Choose an odd number of members (you chose {len(members)}), so the votes cannot "
                           "split evenly.", field="member_ids")
    if chair_id is not None and int(chair_id) not in {m.id for m in members}:
        raise InvalidInput("The chair must be one of the chosen members.", field="chair_id")
    accepted = _check_conflicts(dispute, members, (conflict_note or "").strip())
    dispute_engine.touch(dispute)  # two managers choosing at once: one team, the other is told
    now = now_utc()
    for old in db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == dispute.id)):
        db.session.delete(old)  # nothing was sent to a seat yet, so replacing the team loses nothing
    db.session.flush()
    seats = []
    for member in members:
        seat = PanelSeat(
            dispute_id=dispute.id, panel_member_id=member.id,
            is_chair=chair_id is not None and member.id == int(chair_id),
            seated_dt=now, conflict_note=accepted.get(member.id, ""),
        )
        seat.member = member
        db.session.add(seat)
        seats.append(seat)
    db.session.flush()
    _audit(dispute, actor, "seat_panel", now, reason=(conflict_note or "").strip(), data={
        "members": [{"id": m.id, "name": m.name, "organisation": m.organisation} for m in members],
        "chair_id": int(chair_id) if chair_id is not None else None,
        "accepted_conflicts": {str(k): v for k, v in accepted.items()},
    })
    return seats


def replace_seat(
    actor: Actor, dispute: Dispute, member_id: int, *, conflict_note: str = "", expected_version: int | None = None
) -> PanelSeat:
    """Seat one more member (usually the replacement for one who recused); invited at once if the
    case was already sent."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state != "panel_review":
        raise WrongState(f"A replacement joins a team that is reviewing; this dispute is {dispute.state_label}.")
    (member,) = _members(dispute, [member_id])
    existing = db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.panel_member_id == member.id)
    ).first()
    if existing is not None:
        raise InvalidInput(f"{member.name} already has a seat on this team.", field="member_id")
    accepted = _check_conflicts(dispute, [member], (conflict_note or "").strip())
    dispute_engine.touch(dispute)
    now = now_utc()
    seat = PanelSeat(dispute_id=dispute.id, panel_member_id=member.id, seated_dt=now,
                     conflict_note=accepted.get(member.id, ""))
    seat.member = member
    db.session.add(seat)
    db.session.flush()
    _audit(dispute, actor, "replace_seat", now, reason=(conflict_note or "").strip(),
           data={"member": {"id": member.id, "name": member.name}})
    _invite(dispute, seat, _packet(dispute), now)
    return seat


# The case packet ---------------------------------------------------------------------------------

def _scrub_contact(text: str, dispute: Dispute) -> str:
    """The resident's contact details stay out of the packet, even where they typed them in."""
    resident = dispute.resident
    if not text or resident is None:
        return text or ""
    if resident.email:
        text = re.sub(re.escape(resident.email), "[email removed]", text, flags=re.IGNORECASE)
    digits = re.sub(r"\D", "", resident.phone or "")
    if len(digits) >= 7:
        pattern = r"\D{0,3}".join(re.escape(d) for d in digits[-7:])
        text = re.sub(r"(\+?\d[\s().-]{0,3}){0,4}" + pattern, "[phone removed]", text)
    for part in sorted({p for p in (resident.name or "").split() if len(p) > 1}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(part)}\b", part[0] + ".", text)
    return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_packet_content(dispute: Dispute, now: datetime) -> dict:
    prop = _dispute_property(dispute)
    unit = dispute.unit or (dispute.resident.unit if dispute.resident else None)
    submissions = db.session.scalars(
        select(Submission).where(Submission.dispute_id == dispute.id).order_by(Submission.received_dt, Submission.id)
    ).all()
    files = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.dispute_id == dispute.id).order_by(EvidenceFile.received_dt,
                                                                                    EvidenceFile.id)
    ).all()
    responses: dict[str, str] = {}
    for submission in submissions:  # the newest response to each item counts
        responses.update(submission.item_responses or {})
    scrub = lambda text: _scrub_contact(text, dispute)  # noqa: E731
    return {
        "dispute_id": dispute.id,
        "category": dispute.category,
        "resident": {"initials": dispute.resident.initials if dispute.resident else "",
                     "unit": unit.label if unit else "", "property": prop.name if prop else ""},
        "manager": dispute.manager.name,
        # The manager's words are scrubbed too: a note such as "called Tammy on 303-555-..." happens.
        "company_side": {
            "issue": scrub(dispute.issue),
            "what_was_fixed": scrub(dispute.what_was_fixed),
            "position": scrub(dispute.company_position),
        },
        "resident_side": [
            {
                "received": _iso(s.received_dt),
                "details": scrub(s.details),
                "suggested_resolution": scrub(s.suggested_resolution),
                "suggested_amount_cents": s.suggested_amount_cents,
            }
            for s in submissions
        ],
        "items": [
            {
                "id": item.id, "description": item.description, "amount_cents": item.amount_cents,
                "company_reason": scrub(item.company_reason),
                "resident_response": scrub(responses.get(str(item.id), "")),
            }
            for item in dispute.items
        ],
        "evidence": [
            {
                "id": f.id, "name": scrub(f.original_name), "content_type": f.content_type,
                "size_bytes": f.size_bytes,
                "sha256": f.sha256, "received": _iso(f.received_dt), "captured": _iso(f.captured_dt),
            }
            for f in files
        ],
        "dates": {
            "opened": _iso(dispute.opened_dt),
            "evidence_received": _iso(dispute.evidence_received_dt),
            "reply_due": _iso(dispute.reply_due_dt),
            "panel_opened": _iso(now),
        },
    }


def freeze_packet(dispute: Dispute, now: datetime) -> CasePacket:
    content = build_packet_content(dispute, now)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    last = db.session.scalar(select(func.max(CasePacket.version)).where(CasePacket.dispute_id == dispute.id)) or 0
    packet = CasePacket(dispute_id=dispute.id, version=last + 1, frozen_dt=now, content=content, sha256=digest)
    db.session.add(packet)
    return packet


def _packet(dispute: Dispute) -> CasePacket | None:
    return db.session.scalars(_packet_query(), {"dispute_id": dispute.id}).first()


def current_packet(dispute: Dispute) -> CasePacket | None:
    return _packet(dispute)


# Sending the case --------------------------------------------------------------------------------

def _team(dispute: Dispute) -> list[tuple[PanelSeat, Vote | None]]:
    """Every seat of the team (recused ones too) with its member and its vote, in one query: what
    the count, the progress table and a vote's own checks all read."""
    return [(seat, vote) for seat, vote in db.session.execute(_team_query(), {"dispute_id": dispute.id})]


# The vote's own queries run on every vote: each is built once (building one, with its loader
# options, cost about as much as running it).

@cache
def _team_query():
    return (
        select(PanelSeat, Vote).outerjoin(Vote, Vote.seat_id == PanelSeat.id)
        .where(PanelSeat.dispute_id == bindparam("dispute_id"))
        .options(joinedload(PanelSeat.member))
        .order_by(PanelSeat.id)
        .execution_options(populate_existing=True)  # votes change in other requests: count what is stored
    )


@cache
def _locked_dispute_query():
    return (
        select(Dispute).where(Dispute.id == bindparam("dispute_id"))
        .options(joinedload(Dispute.company), joinedload(Dispute.manager), joinedload(Dispute.resident),
                 joinedload(Dispute.unit).joinedload(Unit.property), joinedload(Dispute.items))
        .with_for_update(of=Dispute)
        .execution_options(populate_existing=True)
    )


@cache
def _packet_query():
    return (select(CasePacket).where(CasePacket.dispute_id == bindparam("dispute_id"))
            .order_by(CasePacket.version.desc()).limit(1))


@cache
def _change_vote_statement():
    new = {name: bindparam(f"new_{name}") for name in (*VOTE_FIELDS, "packet_id", "changed_dt")}
    return (update(Vote).where(Vote.seat_id == bindparam("the_seat_id"))
            .values(revision=Vote.revision + 1, **new)
            .returning(Vote.id)
            .execution_options(synchronize_session=False))


@cache
def _supervisors_query():
    return select(StaffUser.email).where(
        StaffUser.company_id == bindparam("company_id"), StaffUser.role == "supervisor",
        StaffUser.id != bindparam("manager_id"),
    )


def _seats(dispute: Dispute) -> list[PanelSeat]:
    """The members still seated (``_team`` has the recused ones too)."""
    return list(db.session.scalars(
        select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.recused_dt.is_(None))
        .options(joinedload(PanelSeat.member)).order_by(PanelSeat.id)
    ))


def _invite(dispute: Dispute, seat: PanelSeat, packet: CasePacket, now: datetime) -> None:
    link = issue_link(dispute, "vote", seat=seat, expires_dt=dispute.panel_due_dt + LINK_GRACE)
    seat.invited_dt = now
    queue_email(
        "panel_invitation", to_addr=seat.member.email, to_name=seat.member.name, company=dispute.company,
        dispute=dispute,
        context={"member": seat.member, "seat": seat, "link_url": link_url(link), "due": dispute.panel_due_dt,
                 "packet": packet.content, "manager": dispute.manager},
    )


def send_to_panel(actor: Actor, dispute: Dispute, *, expected_version: int | None = None) -> CasePacket:
    """Freeze the case packet, open the team's review and email each member their own link."""
    require_staff(actor, dispute)
    check_version(dispute, expected_version)
    # The roster may have changed since the team was chosen: check again before anything goes out.
    supervisors = _supervisor_emails(dispute)
    seats = _seats(dispute)
    blocking = [c.text for seat in seats for c in _conflicts(dispute, seat.member, supervisors)
                if c.is_absolute or not seat.conflict_note]
    if blocking:
        raise InvalidInput("Conflict of interest: " + "; ".join(blocking) + ". Choose the team again before "
                           "sending the case.", field="member_ids")
    now = now_utc()
    dispute.panel_opened_dt = now
    packet = freeze_packet(dispute, now)
    dispute_engine.fire(dispute, "send_to_panel", actor=actor, now=now)  # sets panel_due_dt
    for seat in seats:
        _invite(dispute, seat, packet, now)
    # The history says exactly what was sent: the packet's version and fingerprint, and to whom.
    _audit(dispute, actor, "packet_frozen", now, data={
        "packet_version": packet.version, "sha256": packet.sha256,
        "members": [s.member.name for s in seats], "panel_due": _iso(dispute.panel_due_dt),
    })
    return packet


# Votes -------------------------------------------------------------------------------------------

def _check_cents(value, *, cap: int, field: str, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        cents = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {what} is not an amount.", field=field) from None
    if cents < 0:
        raise InvalidInput(f"The {what} cannot be negative.", field=field)
    if cents > cap:
        dollars = f"${cap // 100:,}" + (f".{cap % 100:02d}" if cap % 100 else "")
        raise InvalidInput(f"The {what} can be at most {dollars} (the company's limit).", field=field)
    return cents


def _require_member(actor: Actor, seat: PanelSeat) -> None:
    if actor.kind != "panel" or actor.id != seat.panel_member_id:
        raise NotAllowed(f"This seat belongs to {seat.member.name}; only they can vote or step aside with it.")


def _dispute_of(seat: PanelSeat) -> Dispute:
    """The seat's dispute, locked for this transaction where the database can (PostgreSQL): the team's
    votes then count one after another, so the last two arriving together still see each other and
    close the panel. The company, the people, the property and the disputed items the checks and
    the count read come in the same query (only the dispute's row is locked)."""
    return db.session.scalars(_locked_dispute_query(), {"dispute_id": seat.dispute_id}).unique().one()


def _check_panel_open(dispute: Dispute, now: datetime) -> None:
    if dispute.state != "panel_review":
        if dispute.panel_closed_dt is not None:
            when = format_moment(dispute.panel_closed_dt, dispute.company)
            raise WrongState(f"The team's review closed at {when}; votes can no longer be cast or changed.")
        raise WrongState(f"The team is not reviewing this case; it is {dispute.state_label}.")
    if dispute.panel_due_dt is not None and now > dispute.panel_due_dt:
        when = format_moment(dispute.panel_due_dt, dispute.company)
        raise DeadlinePassed(f"The team's review ended at {when}; votes can no longer be cast or changed.")


def record_vote(
    actor: Actor,
    seat: PanelSeat,
    *,
    choice: str,
    reason: str,
    token_kind: str = "",
    token_cents: int | None = None,
    concession_cents: int | None = None,
    item_choices: dict | None = None,
) -> Vote:
    """Cast or change this seat's vote (every version kept); close the panel early if the rules say so.

    The seat's one vote is the ``vote.seat_id`` unique constraint: two first votes racing make one
    row and one IntegrityError (the caller retries, which then changes the vote). A change is one
    UPDATE that bumps the revision in the database, so racing changes never share a number.
    """
    _require_member(actor, seat)
    dispute = _dispute_of(seat)
    now = now_utc()
    _check_panel_open(dispute, now)
    if seat.recused_dt is not None:
        raise NotAllowed("You stepped aside from this case, so your vote is not needed.")
    absolute = [c.text for c in _conflicts(dispute, seat.member) if c.is_absolute or not seat.conflict_note]
    if absolute:
        raise NotAllowed("You cannot vote on this case because of a conflict of interest: " + "; ".join(absolute)
                         + ". Please step aside so the manager can invite someone else.")
    if choice not in CHOICES:
        raise InvalidInput("Choose one: the company's position stands, grant the resident's suggestion, "
                           "or a compromise.", field="choice")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please give your reason. It is the honest feedback the resident's letter is "
                           "built from, including where the company may be wrong.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Please keep the reason under {MAX_REASON:,} characters.", field="reason")
    company = dispute.company
    token_cents = _check_cents(token_cents, cap=company.token_cap_cents, field="token_cents", what="token")
    concession_cents = _check_cents(concession_cents, cap=company.concession_cap_cents, field="concession_cents",
                                    what="concession")
    token_kind = (token_kind or "").strip()[:120]
    if token_cents and not token_kind:
        token_kind = "gift card"
    if not token_cents:
        token_kind = ""
    items = {str(item.id) for item in dispute.items}
    chosen_items = {}
    for key, value in (item_choices or {}).items():
        if not value:
            continue
        if str(key) not in items:
            raise InvalidInput("A decision refers to an item that is not on this dispute.", field="items")
        if value not in CHOICES:
            raise InvalidInput("Each item's decision must be uphold, resident or compromise.", field="items")
        chosen_items[str(key)] = value
    packet = _packet(dispute)
    if packet is None:
        raise WrongState("This case has no packet; the team has not been sent it.")

    fields = dict(choice=choice, reason=reason, token_kind=token_kind, token_cents=token_cents,
                  concession_cents=concession_cents, item_choices=chosen_items)
    # A change is one statement, so two tabs changing the vote at once each get their own revision
    # number; when it matches nothing, this is the seat's first vote.
    changed = db.session.execute(
        _change_vote_statement(), {"the_seat_id": seat.id, **{f"new_{k}": v for k, v in fields.items()},
                                   "new_packet_id": packet.id, "new_changed_dt": now}
    ).first()
    if changed is None:
        db.session.add(Vote(seat_id=seat.id, dispute_id=dispute.id, packet_id=packet.id, cast_dt=now,
                            changed_dt=now, revision=1, **fields))
        db.session.flush()  # a racing twin fails here, on the unique constraint, before anything else is written
    # Read after this vote is written (which, on SQLite, waits for any other vote's transaction to
    # end; on PostgreSQL the dispute's lock did): every vote counted before this one is in the rows.
    team = _team(dispute)
    vote = next(v for s, v in team if s.id == seat.id)
    set_committed_value(vote, "dispute", dispute)  # the dispute this vote locked and counted, for the caller
    db.session.add(VoteRevision(vote_id=vote.id, revision=vote.revision, recorded_dt=now, **fields))
    # How they voted stays out of the history until the panel closes; that a vote arrived does not.
    _audit(dispute, actor, "vote" if vote.revision == 1 else "change_vote", now,
           data={"seat_id": seat.id, "revision": vote.revision, "packet_version": packet.version})
    # Counted from the rows already read (with this vote in them); the commit writes the revision.
    result = tally(dispute, team)
    if result.early_close_reason:
        close_panel(Actor.system("Resolver (team's votes are in)"), dispute, reason=result.early_close_reason,
                    team=team, result=result)
    return vote


def recuse(actor: Actor, seat: PanelSeat, *, reason: str) -> PanelMember | None:
    """A member steps aside: their link stops working, any vote they cast no longer counts, and the
    manager is told, with a replacement from the reserve proposed. Returns that proposal."""
    _require_member(actor, seat)
    dispute = _dispute_of(seat)
    now = now_utc()
    _check_panel_open(dispute, now)
    if seat.recused_dt is not None:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please say briefly why you are stepping aside (for example, you know the resident).",
                           field="recusal_reason")
    # One statement that only an unrecused seat matches: two tabs stepping aside at once record it once.
    claimed = db.session.execute(
        update(PanelSeat).where(PanelSeat.id == seat.id, PanelSeat.recused_dt.is_(None))
        .values(recused_dt=now, recusal_reason=reason[:2000]).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(seat)
    if not claimed:
        return None
    revoke_links(dispute.id, "vote", now, "the member stepped aside", seat_id=seat.id)
    _audit(dispute, actor, "recuse", now, reason=reason[:2000], data={"seat_id": seat.id})
    replacement = propose_replacement(dispute)
    queue_email(
        "panel_recusal", to_addr=dispute.manager.email, to_name=dispute.manager.name, company=dispute.company,
        dispute=dispute,
        context={"member": seat.member, "reason": reason, "replacement": replacement,
                 "conflicts": conflicts_for(dispute, replacement) if replacement else [],
                 "progress": panel_progress(dispute), "due": dispute.panel_due_dt},
    )
    return replacement


# The count ---------------------------------------------------------------------------------------

@dataclass
class Opinion:
    choice: str
    reason: str
    author: str  # "A team member" when the company keeps the team anonymous


@dataclass
class TallyResult:
    """What the votes say now, by the workflow's panel rules."""

    seated: int
    voted: int
    counts: dict[str, int]
    quorum: int  # votes needed
    choice: str | None  # the winning choice, if there is one
    is_quorate: bool
    explanation: str
    early_close_reason: str = ""
    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None
    item_choices: dict[int, str] = field(default_factory=dict)
    opinions: list[Opinion] = field(default_factory=list)

    @property
    def is_decided(self) -> bool:
        return self.choice is not None

    @property
    def is_deadlocked(self) -> bool:
        return self.choice is None

    @property
    def winner(self) -> str | None:
        return self.choice

    @property
    def everyone_voted(self) -> bool:
        return self.seated > 0 and self.voted >= self.seated

    @property
    def reasons(self) -> list[str]:
        return [o.reason for o in self.opinions]


def _median(values: list[int]) -> int | None:
    return int(round(statistics.median(values))) if values else None


def _winner(counts: Counter, cast: int, share: float) -> str | None:
    """The choice with more than ``share`` of the votes cast and more than any other; else None (a tie)."""
    ranked = counts.most_common(2)
    if not ranked:
        return None
    choice, n = ranked[0]
    if n > share * cast and (len(ranked) == 1 or n > ranked[1][1]):
        return choice
    return None


def _settled(counts: Counter, cast: int, seated: int, share: float) -> bool:
    """The outstanding votes cannot take the lead away: the leader still wins if all of them go elsewhere."""
    ranked = counts.most_common(2)
    if not ranked:
        return False
    outstanding = seated - cast
    n = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return n > share * seated and n > runner_up + outstanding


def _anonymise(reason: str, names: list[str]) -> str:
    text = reason.strip()
    for name in sorted(set(filter(None, names)), key=len, reverse=True):
        text = re.sub(rf"^{re.escape(name)}\s*[:,-]\s*", "", text)
        text = re.sub(re.escape(name), "a team member", text)
    return text[:1].upper() + text[1:]


def tally(dispute: Dispute, team: list[tuple[PanelSeat, Vote | None]] | None = None) -> TallyResult:
    """Count the votes of the members still seated, by the rules in the workflow definition.

    ``team``: the dispute's ``_team`` rows, when the caller has just read them.
    """
    panel_rules = rules()
    active = [(seat, vote) for seat, vote in (_team(dispute) if team is None else team) if seat.recused_dt is None]
    rows = sorted(((vote, seat) for seat, vote in active if vote is not None), key=lambda r: (r[0].cast_dt, r[0].id))
    votes = [vote for vote, _ in rows]
    seated = len(active)
    cast = len(votes)
    counts = Counter(v.choice for v in votes)
    needed = int(panel_rules.quorum_share * seated) + 1 if seated else 1
    is_quorate = seated > 0 and cast >= needed
    choice = _winner(counts, cast, panel_rules.majority_share) if is_quorate else None
    if not seated:
        explanation = "No one is seated on the team."
    elif not is_quorate:
        explanation = f"{cast} of {seated} members voted; at least {needed} must vote for the team to decide."
    elif choice is None:
        top = counts.most_common()
        explanation = ("The votes are split (" + ", ".join(f"{n} {c}" for c, n in top) + "); no choice has a "
                       "majority.")
    else:
        explanation = f"{counts[choice]} of {cast} votes: {CHOICE_LABELS[choice]}."

    # Per item: each vote's own decision for the item, else its overall choice.
    item_choices = {}
    items_settled = True
    for item in dispute.items:
        item_counts = Counter((v.item_choices or {}).get(str(item.id)) or v.choice for v in votes)
        winner = _winner(item_counts, cast, panel_rules.majority_share) if cast else None
        item_choices[item.id] = winner or choice
        items_settled = items_settled and _settled(item_counts, cast, seated, panel_rules.majority_share)

    result = TallyResult(seated=seated, voted=cast, counts={c: counts.get(c, 0) for c in CHOICES}, quorum=needed,
                         choice=choice, is_quorate=is_quorate, explanation=explanation, item_choices=item_choices)
    if dispute.state == "panel_review":
        if "everyone_voted" in panel_rules.early_close and result.everyone_voted:
            result.early_close_reason = "Everyone on the team has voted."
        elif ("result_cannot_change" in panel_rules.early_close and choice is not None and items_settled
              and _settled(counts, cast, seated, panel_rules.majority_share)):
            result.early_close_reason = (f"The result can no longer change: {counts[choice]} of {seated} members "
                                         f"voted that {CHOICE_LABELS[choice]}.")

    # The recommendation for the letter: the median of what the winning side recommended.
    side = [v for v in votes if v.choice == choice] if choice else []
    tokens = [v for v in side if v.token_cents]
    if tokens:
        result.token_cents = _median([v.token_cents for v in tokens])
        kinds = Counter(v.token_kind.strip() for v in tokens if v.token_kind.strip())
        result.token_kind = kinds.most_common(1)[0][0] if kinds else "gift card"
    result.concession_cents = _median([v.concession_cents for v in side if v.concession_cents])

    anonymous = dispute.company.is_panel_anonymous
    names = [seat.member.name for _, seat in rows]
    for vote, seat in rows:
        if anonymous:
            result.opinions.append(Opinion(vote.choice, _anonymise(vote.reason, names), "A team member"))
        else:
            who = seat.member.name + (f" ({seat.member.organisation})" if seat.member.organisation else "")
            result.opinions.append(Opinion(vote.choice, vote.reason.strip(), who))
    return result


# Closing -----------------------------------------------------------------------------------------

def _apply_item_decisions(dispute: Dispute, item_choices: dict[int, str | None], fallback: str) -> None:
    for item in dispute.items:
        decision = item_choices.get(item.id) or fallback
        item.decision = decision
        item.granted_cents = {"resident": item.amount_cents, "uphold": 0}.get(decision)


def close_panel(
    actor: Actor, dispute: Dispute, *, reason: str = "", team: list[tuple[PanelSeat, Vote | None]] | None = None,
    result: TallyResult | None = None,
) -> Dispute:
    """Count the votes and end the review: decided, or deadlocked for the manager (or chair) to decide.

    The panel's links stop working (a chair's stays open while the team is deadlocked), and the
    manager gets the result by email. Closing a panel that already closed changes nothing.
    ``team`` and ``result``: the rows and the count of a vote that closes the panel.
    """
    if not actor.is_system:
        require_staff(actor, dispute)
    if dispute.state != "panel_review":
        if dispute.panel_closed_dt is not None:
            return dispute
        raise WrongState(f"The team is not reviewing this case; it is {dispute.state_label}.")
    now = now_utc()
    team = _team(dispute) if team is None else team
    result = tally(dispute, team) if result is None else result
    why = reason or ("The team's time is up." if dispute.panel_due_dt and now >= dispute.panel_due_dt
                     else "Closed by the manager.")
    dispute.panel_closed_dt = now
    data = {"seated": result.seated, "voted": result.voted, "counts": result.counts,
            "token_cents": result.token_cents, "concession_cents": result.concession_cents}
    chair = next((seat for seat, _ in team if seat.is_chair and seat.recused_dt is None), None)
    if result.is_decided:
        dispute.decision = result.choice
        dispute.decided_dt = now
        dispute.decided_by = "panel"
        _apply_item_decisions(dispute, result.item_choices, result.choice)
        dispute_engine.fire(dispute, "decide", actor=actor, now=now, reason=f"{why} {result.explanation}", data=data)
        revoke_links(dispute.id, "vote", now, "the team's review closed")
    else:
        dispute_engine.fire(dispute, "deadlock", actor=actor, now=now, reason=f"{why} {result.explanation}",
                            data=data)
        db.session.flush()
        for seat, _ in team:
            if chair is None or seat.id != chair.id:
                revoke_links(dispute.id, "vote", now, "the team's review closed", seat_id=seat.id)
    queue_email(
        "panel_result", to_addr=dispute.manager.email, to_name=dispute.manager.name, company=dispute.company,
        dispute=dispute, context={"result": result, "progress": panel_progress(dispute, team, result), "chair": chair,
                                  "why": why},
    )
    if result.is_deadlocked and chair is not None:
        link = current_link(dispute.id, "vote", seat_id=chair.id)
        if link is not None:
            queue_email(
                "panel_chair_decides", to_addr=chair.member.email, to_name=chair.member.name,
                company=dispute.company, dispute=dispute,
                context={"member": chair.member, "result": result, "link_url": link_url(link),
                         "manager": dispute.manager},
            )
    return dispute


def decide_deadlock(
    actor: Actor, dispute: Dispute, *, decision: str, note: str, expected_version: int | None = None
) -> Dispute:
    """The team was split (or too few voted): the manager, or the team's chair, decides, with a note."""
    chair = None
    if actor.kind == "panel":
        chair = db.session.scalars(
            select(PanelSeat).where(PanelSeat.dispute_id == dispute.id, PanelSeat.panel_member_id == actor.id,
                                    PanelSeat.is_chair.is_(True), PanelSeat.recused_dt.is_(None))
        ).first()
        if chair is None:
            raise NotAllowed("Only the team's chair or the manager can decide a split vote.")
    else:
        require_staff(actor, dispute)
    check_version(dispute, expected_version)
    if dispute.state != "deadlocked":
        raise WrongState(f"Only a split team's case needs deciding; this dispute is {dispute.state_label}.")
    if decision not in CHOICES:
        raise InvalidInput("Choose the decision.", field="decision")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say why, in a sentence or two; the letter can use it and the history keeps it.",
                           field="note")
    now = now_utc()
    result = tally(dispute)
    dispute.decision = decision
    dispute.decision_note = note[:5000]
    dispute.decided_dt = now
    dispute.decided_by = "chair" if chair is not None else "manager"
    _apply_item_decisions(dispute, {k: v for k, v in result.item_choices.items() if v}, decision)
    dispute_engine.fire(dispute, "manager_decides", actor=actor, now=now, reason=note[:5000],
                        data={"decision": dispute.decision, "decided_by": dispute.decided_by})
    revoke_links(dispute.id, "vote", now, "the split vote was decided")
    if chair is not None:
        queue_email(
            "panel_chair_decided", to_addr=dispute.manager.email, to_name=dispute.manager.name,
            company=dispute.company, dispute=dispute, context={"chair": chair.member, "note": note},
        )
    return dispute


# Progress for the manager ------------------------------------------------------------------------

@dataclass
class SeatProgress:
    seat_id: int
    name: str
    organisation: str
    email: str
    is_chair: bool
    invited_dt: datetime | None
    voted_dt: datetime | None
    recused_dt: datetime | None
    recusal_reason: str
    conflict_note: str
    choice: str | None  # only when the company may see it (after close, or not anonymous)
    revisions: int
    is_panel_closed: bool = False

    @property
    def status(self) -> str:
        if self.recused_dt is not None:
            return "stepped aside"
        if self.voted_dt is not None:
            return "voted"
        if self.is_panel_closed:
            return "did not vote"
        if self.invited_dt is not None:
            return "not voted yet"
        return "not invited yet"

    @property
    def has_voted(self) -> bool:
        return self.voted_dt is not None and self.recused_dt is None


@dataclass
class PanelProgress:
    seats: list[SeatProgress]
    seated: int
    voted: int
    due_dt: datetime | None
    closed_dt: datetime | None
    shows_choices: bool
    result: TallyResult | None  # only once the panel closed

    @property
    def is_closed(self) -> bool:
        return self.closed_dt is not None

    @property
    def waiting_for(self) -> list[str]:
        return [s.name for s in self.seats if s.status == "not voted yet"]


def panel_progress(
    dispute: Dispute, team: list[tuple[PanelSeat, Vote | None]] | None = None, result: TallyResult | None = None
) -> PanelProgress:
    """Who has voted (not how, until the panel closes, unless the company turned anonymity off).
    ``team`` and ``result``: the rows and the count the caller has just made, if it has."""
    team = _team(dispute) if team is None else team
    seats = [seat for seat, _ in team]
    votes = {seat.id: vote for seat, vote in team if vote is not None}
    is_closed = dispute.panel_closed_dt is not None
    shows = is_closed or not dispute.company.is_panel_anonymous
    rows = []
    for seat in seats:
        vote = votes.get(seat.id)
        rows.append(SeatProgress(
            seat_id=seat.id, name=seat.member.name, organisation=seat.member.organisation, email=seat.member.email,
            is_chair=seat.is_chair, invited_dt=seat.invited_dt, voted_dt=vote.changed_dt if vote else None,
            recused_dt=seat.recused_dt, recusal_reason=seat.recusal_reason, conflict_note=seat.conflict_note,
            choice=vote.choice if (vote and shows) else None, revisions=vote.revision if vote else 0,
            is_panel_closed=is_closed,
        ))
    active = [r for r in rows if r.recused_dt is None]
    return PanelProgress(
        seats=rows, seated=len(active), voted=sum(1 for r in active if r.voted_dt), due_dt=dispute.panel_due_dt,
        closed_dt=dispute.panel_closed_dt, shows_choices=shows,
        result=(result or tally(dispute, team)) if is_closed else None,
    )
