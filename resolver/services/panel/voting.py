"""A team member's own acts: casting or changing a vote, and stepping aside (recusal).

A vote closes the review early when the workflow's rules say it may; a recusal tells the manager
and proposes a replacement. A vote the manager recorded for a member from a team call
(``resolver.services.panel.calls``) is cast here too, saying who recorded it and the call's day, so
the count, the letter and the reports cannot tell it from a vote by link; the member's own change
of it is their vote, as any change is.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ...actors import Actor
from ...clock import now_utc
from ...errors import DeadlinePassed, InvalidInput, NotAllowed, WrongState
from ...extensions import db
from ...history import record_event
from ...links import revoke_links
from ...models import Dispute, PanelMember, PanelSeat, Unit, Vote, VoteRevision
from ...money import check_cents
from ...workdays import format_moment, local
from ...workflow.definition import Decision
from ...workflow.engine import dispute_engine
from ..access import require_staff
from ..notify import tell
from .closing import close_panel
from .conflicts import conflicts, conflicts_for
from .packet import current_packet
from .progress import panel_progress
from .result import tally, team_of
from .team import propose_replacement

WORKFLOW = dispute_engine.definition

MAX_REASON = 5000
# What a member is told when their vote or their stepping aside is incomplete (the vote page's form
# says the same, from these).
CHOICE_NEEDED = ("Choose one: the company's position stands, grant the resident's suggestion, "
                 "or a compromise.")
REASON_NEEDED = ("Please give your reason. It is the honest feedback the resident's letter is "
                 "built from, including where the company may be wrong.")
REASON_TOO_LONG = f"Please keep the reason under {MAX_REASON:,} characters."
ITEM_CHOICE_NEEDED = "Each item's decision must be uphold, resident or compromise."
RECUSAL_REASON_NEEDED = "Please say briefly why you are stepping aside (for example, you know the resident)."
CALL_DAY_AHEAD = "The call's date cannot be in the future."
CALL_DAY_BEFORE_TEAM = "The call's date cannot be before the case went to the team ({day})."


def _require_member(actor: Actor, seat: PanelSeat) -> None:
    if actor.kind != "panel" or actor.id != seat.panel_member_id:
        raise NotAllowed(f"This seat belongs to {seat.member.name}; only they can vote or step aside with it.")


def _locked_dispute(seat: PanelSeat) -> Dispute:
    """The seat's dispute, locked for this transaction where the database can (PostgreSQL): the team's
    votes then count one after another, so the last two arriving together still see each other and
    close the panel. The company, the people, the property and the disputed items the checks and
    the count read come in the same query (only the dispute's row is locked)."""
    query = (
        select(Dispute).where(Dispute.id == seat.dispute_id)
        .options(joinedload(Dispute.company), joinedload(Dispute.manager), joinedload(Dispute.resident),
                 joinedload(Dispute.unit).joinedload(Unit.property), joinedload(Dispute.items))
        .with_for_update(of=Dispute)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(query).unique().one()


def _check_panel_open(dispute: Dispute, now: datetime) -> None:
    if not WORKFLOW.can("decide", dispute.state):
        if dispute.panel_closed_dt is not None:
            when = format_moment(dispute.panel_closed_dt, dispute.company)
            raise WrongState(f"The team's review closed at {when}; votes can no longer be cast or changed.")
        raise WrongState(f"The team is not reviewing this case; it is {dispute.state_label}.")
    if dispute.panel_due_dt is not None and now > dispute.panel_due_dt:
        when = format_moment(dispute.panel_due_dt, dispute.company)
        raise DeadlinePassed(f"The team's review ended at {when}; votes can no longer be cast or changed.")


def _item_choices(dispute: Dispute, item_choices: dict | None) -> dict[str, str]:
    items = {str(item.id) for item in dispute.items}
    chosen = {}
    for key, value in (item_choices or {}).items():
        if not value:
            continue
        if str(key) not in items:
            raise InvalidInput("A decision refers to an item that is not on this dispute.", field="items")
        if value not in list(Decision):
            raise InvalidInput(ITEM_CHOICE_NEEDED, field="items")
        chosen[str(key)] = value
    return chosen


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
    call_on: date | None = None,
    closes: bool = True,
) -> Vote:
    """Cast or change this seat's vote (every version kept); close the panel early if the rules say so.
    The vote as it stands, sent again unchanged, changes nothing and is not a new version.

    ``call_on``: the manager (``actor``) records the vote from a team call held that day. A call
    never replaces the member's own vote: a seat that voted by link keeps it. ``closes=False``
    leaves the count to the caller (a call records every member's vote before counting once).

    The seat's one vote is the ``vote.seat_id`` unique constraint: two first votes racing make one
    row and one IntegrityError (the caller retries, which then changes the vote). A change is one
    UPDATE that bumps the revision in the database, so racing changes never share a number.
    """
    if call_on is None:
        _require_member(actor, seat)  # the member votes for themselves...
    dispute = _locked_dispute(seat)
    if call_on is not None:
        require_staff(actor, dispute)  # ...and only the dispute's staff record a vote, from a call
    now = now_utc()
    _check_panel_open(dispute, now)
    if seat.recused_dt is not None:
        raise NotAllowed(f"{seat.member.name} stepped aside from this case, so no vote is needed."
                         if call_on else "You stepped aside from this case, so your vote is not needed.")
    absolute = [c.text for c in conflicts(dispute, seat.member) if c.is_absolute or not seat.conflict_note]
    if absolute:
        raise NotAllowed("You cannot vote on this case because of a conflict of interest: " + "; ".join(absolute)
                         + ". Please step aside so the manager can invite someone else.")
    if choice not in list(Decision):
        raise InvalidInput(CHOICE_NEEDED, field="choice")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(REASON_NEEDED, field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(REASON_TOO_LONG, field="reason")
    company = dispute.company
    token_cents = check_cents(token_cents, cap=company.token_cap_cents, field="token_cents", label="The token")
    concession_cents = check_cents(concession_cents, cap=company.concession_cap_cents, field="concession_cents",
                                   label="The concession")
    token_kind = (token_kind or "").strip()[:120]
    if token_cents and not token_kind:
        token_kind = "gift card"
    if not token_cents:
        token_kind = ""
    chosen_items = _item_choices(dispute, item_choices)
    packet = current_packet(dispute)
    if packet is None:
        raise WrongState("This case has no packet; the team has not been sent it.")

    fields = dict(choice=choice, reason=reason, token_kind=token_kind, token_cents=token_cents,
                  concession_cents=concession_cents, item_choices=chosen_items,
                  recorded_by_id=actor.id if call_on else None, call_on=call_on)
    standing = _standing_vote(seat)
    if call_on is not None:
        check_call_day(dispute, call_on, now)
        _refuse_replacing_own_vote(dispute, seat, standing)
    if standing is not None and standing.packet_id == packet.id and _says(standing) == fields:
        return standing  # the same vote sent again (a reload, a double press): recorded once
    # The member's own word on what a call recorded: a correction, or a yes (read before the change).
    answers_call = standing.call_on if standing is not None and call_on is None else None
    answer = "confirms_call_on" if answers_call and _says(standing) | _ORIGIN_OF_OWN == fields else "corrects_call_on"
    # A recorded vote gives the member a while to correct it; their own vote keeps the time it had.
    correction = {"correction_due_dt": now + WORKFLOW.panel.call_correction_time} if call_on else {}
    # A change is one statement, so two tabs changing the vote at once each get their own revision
    # number; when it matches nothing, this is the seat's first vote.
    changed = db.session.execute(
        update(Vote).where(Vote.seat_id == seat.id)
        .values(revision=Vote.revision + 1, packet_id=packet.id, changed_dt=now, **fields, **correction)
        .returning(Vote.id)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        db.session.add(Vote(seat_id=seat.id, dispute_id=dispute.id, packet_id=packet.id, cast_dt=now,
                            changed_dt=now, revision=1, **fields, **correction))
        db.session.flush()  # a racing twin fails here, on the unique constraint, before anything else is written
    # Read after this vote is written (which, on SQLite, waits for any other vote's transaction to
    # end; on PostgreSQL the dispute's lock did): every vote counted before this one is in the rows.
    team = team_of(dispute)
    vote = next(v for s, v in team if s.id == seat.id)
    db.session.add(VoteRevision(vote_id=vote.id, revision=vote.revision, recorded_dt=now, **fields))
    # How they voted stays out of the history until the panel closes; that a vote arrived does not.
    data = {"seat_id": seat.id, "revision": vote.revision, "packet_version": packet.version}
    if call_on is not None:
        data["call_on"] = call_on.isoformat()
    if answers_call is not None:
        data[answer] = answers_call.isoformat()
    record_event(dispute, actor, "vote" if vote.revision == 1 else "change_vote", now=now, data=data)
    if closes:
        close_if_counted(dispute, team)
    return vote


def close_if_counted(dispute: Dispute, team=None) -> None:
    """Close the review when the votes in already settle it, as the workflow's rules say. ``team``:
    the rows already read, with the newest vote in them."""
    team = team_of(dispute) if team is None else team
    result = tally(dispute, team)
    if result.early_close_reason:
        close_panel(Actor.system("Resolver (team's votes are in)"), dispute, reason=result.early_close_reason,
                    team=team, result=result)


def check_call_day(dispute: Dispute, call_on: date, now: datetime | None = None) -> None:
    """A call is recorded after it was held, and was held while the case was with the team."""
    if call_on > local(now or now_utc(), dispute.company).date():
        raise InvalidInput(CALL_DAY_AHEAD, field="call_on")
    opened = local(dispute.panel_opened_dt, dispute.company).date()
    if call_on < opened:
        raise InvalidInput(CALL_DAY_BEFORE_TEAM.format(day=f"{opened.day} {opened:%B %Y}"), field="call_on")


def _refuse_replacing_own_vote(dispute: Dispute, seat: PanelSeat, standing: Vote | None) -> None:
    """A member's own vote (by link, or their correction) is theirs: a call's record never replaces it."""
    if standing is None or standing.call_on is not None:
        return
    when = format_moment(standing.changed_dt, dispute.company)
    raise WrongState(f"{seat.member.name} already voted by link at {when}, and their own vote stands; a call "
                     f"cannot replace it. If they changed their mind on the call, they can change it through "
                     f"their link until the review closes.")


def _standing_vote(seat: PanelSeat) -> Vote | None:
    return db.session.scalars(
        select(Vote).where(Vote.seat_id == seat.id).execution_options(populate_existing=True)).first()


_ORIGIN_OF_OWN = {"recorded_by_id": None, "call_on": None}  # how a member's own vote says where it came from


def _says(vote: Vote) -> dict:
    """What a vote says, in ``record_vote``'s own terms, to tell a change from the same vote again."""
    return dict(choice=vote.choice, reason=vote.reason, token_kind=vote.token_kind, token_cents=vote.token_cents,
                concession_cents=vote.concession_cents, item_choices=dict(vote.item_choices or {}),
                recorded_by_id=vote.recorded_by_id, call_on=vote.call_on)


def recuse(actor: Actor, seat: PanelSeat, *, reason: str) -> PanelMember | None:
    """A member steps aside: their link stops working, any vote they cast no longer counts, and the
    manager is told, with a replacement from the reserve proposed. Returns that proposal."""
    _require_member(actor, seat)
    dispute = _locked_dispute(seat)
    now = now_utc()
    _check_panel_open(dispute, now)
    if seat.recused_dt is not None:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(RECUSAL_REASON_NEEDED, field="recusal_reason")
    # One statement that only an unrecused seat matches: two tabs stepping aside at once record it once.
    claimed = db.session.execute(
        update(PanelSeat).where(PanelSeat.id == seat.id, PanelSeat.recused_dt.is_(None))
        .values(recused_dt=now, recusal_reason=reason[:2000]).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(seat)
    if not claimed:
        return None
    revoke_links(dispute.id, "vote", now, "the member stepped aside", seat_id=seat.id)
    record_event(dispute, actor, "recuse", now=now, reason=reason[:2000], data={"seat_id": seat.id})
    replacement = propose_replacement(dispute)
    tell(dispute.manager, dispute, "panel_recusal", {
        "member": seat.member, "reason": reason, "replacement": replacement,
        "conflicts": conflicts_for(dispute, replacement) if replacement else [],
        "progress": panel_progress(dispute), "due": dispute.panel_due_dt,
    })
    return replacement
