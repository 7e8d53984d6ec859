"""Personal email links: signed tokens backed by an ``AccessLink`` row.

The token carries only the row's random nonce and the link's purpose, signed with the app's secret,
so a tampered token is refused before the database is asked, and a genuine one can still be expired
or revoked there. Every request made with a link is logged, accepted or not, in a transaction of
its own that commits at once: the use stays in the log whatever becomes of the request. The log
keeps each hour's first uses of a link in full and only counts the rest, so a mail scanner's storm
adds a row or two, not thousands; and a link sends (evidence, a vote) only so often.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import escape
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .clock import now_utc
from .errors import LinkError
from .extensions import db
from .models import AccessLink, LinkUse, LinkUseCount, PanelSeat

_ENDPOINTS = {"evidence": "resident.evidence_form", "vote": "panel.vote_page", "outcome": "resident.outcome_page"}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="resolver.access-link")


def issue_link(dispute, purpose: str, *, expires_dt: datetime, resident=None, seat=None) -> AccessLink:
    link = AccessLink(
        nonce=secrets.token_urlsafe(32),
        dispute_id=dispute.id,
        purpose=purpose,
        resident_id=resident.id if resident is not None else None,
        seat_id=seat.id if seat is not None else None,
        expires_dt=expires_dt,
    )
    db.session.add(link)
    return link


def token_for(link: AccessLink) -> str:
    return _serializer().dumps([link.nonce, link.purpose])


def link_url(link: AccessLink) -> str:
    """The link's URL to put in an email (relative to the public address: see ``email_url``)."""
    return email_url(_ENDPOINTS[link.purpose], token=token_for(link))


# Links in email ------------------------------------------------------------------------------
#
# An email is written when the change that causes it commits, which may be before anyone has said
# where Resolver is served (`resolver demo` runs before `resolver serve`). So its links are written
# after PUBLIC_ADDRESS, a stand-in the sender replaces with the configured address when the email
# goes out (``fill_public_address``); while no address is known, such an email waits. The stand-in
# is a name under .invalid, which never resolves: a link left unfilled is plainly dead, not wrong.

PUBLIC_ADDRESS = "https://public-address.invalid"


def email_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` to put in an email: ``email_url("manager.dispute_page",
    dispute_id=7)``. Every link in an email is built with this (templates have it as ``email_url``)."""
    return PUBLIC_ADDRESS + _paths(current_app).build(endpoint, values)


def has_links(*parts: str) -> bool:
    return any(PUBLIC_ADDRESS in part for part in parts if part)


def fill_public_address(text: str, address: str, *, is_html: bool = False) -> str:
    """``text`` with its links pointing at ``address`` (``https://resolver.example.com``, or with a path)."""
    if not text or PUBLIC_ADDRESS not in text:
        return text
    address = address.rstrip("/")
    return text.replace(PUBLIC_ADDRESS, str(escape(address)) if is_html else address)


def _paths(app):
    """The app's URL map, bound once per app (a request context per link was most of the cost of an
    email with a link)."""
    adapter = app.extensions.get("resolver.email_paths")
    if adapter is None:
        adapter = app.extensions["resolver.email_paths"] = app.url_map.bind("public-address.invalid", script_name="/")
    return adapter


def current_link(dispute_id: int, purpose: str, *, resident_id=None, seat_id=None) -> AccessLink | None:
    """The newest usable link of this kind, to reuse in a reminder."""
    query = select(AccessLink).where(
        AccessLink.dispute_id == dispute_id, AccessLink.purpose == purpose, AccessLink.revoked_dt.is_(None)
    )
    if resident_id is not None:
        query = query.where(AccessLink.resident_id == resident_id)
    if seat_id is not None:
        query = query.where(AccessLink.seat_id == seat_id)
    return db.session.scalars(query.order_by(AccessLink.id.desc()).limit(1)).first()


def resolve_link(token: str, purpose: str, *, now: datetime | None = None,
                 holder_problem: Callable[[AccessLink], LinkError | None] | None = None) -> AccessLink:
    """The link behind ``token``, if it may be used for ``purpose`` now; else a LinkError.

    ``holder_problem`` is the page's own check that the link is held by the right person (the
    dispute's resident, a seat on its team); what it returns is the refusal, and the use's outcome.
    Logs the use either way (when the token is genuine), committed before this returns.
    """
    now = now or now_utc()
    try:
        nonce, signed_purpose = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkError("This link is not valid. Please use the link exactly as it appears in your email.",
                        reason="tampered") from None
    link = db.session.scalars(_link_query(nonce, purpose)).first()
    if link is None:
        raise LinkError("This link is not valid. Please use the link exactly as it appears in your email.",
                        reason="unknown")
    problem = None
    if signed_purpose != purpose or link.purpose != purpose:
        problem = LinkError("This link is for something else. Please use the link from the email about this step.",
                            reason="wrong-purpose")
    elif link.revoked_dt is not None:
        problem = LinkError("This link has been withdrawn. A newer email may have a fresh link; "
                            "otherwise please contact the property manager.", reason="revoked")
    elif now > link.expires_dt:
        problem = LinkError("This link has expired.", reason="expired")
    elif holder_problem is not None:
        problem = holder_problem(link)
    if problem is None and request and request.method == "POST":
        problem = too_many_sends(link, now)
    log_use(link, problem.reason if problem else "ok", now)
    if problem:
        problem.link = link
        raise problem
    return link


def _link_query(nonce: str, purpose: str):
    """The link by its nonce; a vote link with its seat and member, which its pages read next."""
    query = select(AccessLink).where(AccessLink.nonce == nonce)
    if purpose == "vote":
        query = query.options(joinedload(AccessLink.seat).joinedload(PanelSeat.member))
    return query


# How often a link may send -----------------------------------------------------------------------
#
# Every POST through a link sends something (evidence and two emails, a vote, an answer to the letter),
# so each purpose has a
# pace: so many accepted POSTs in a stretch of time, counted from the link's logged uses (accepted
# POSTs are always logged in full). An evidence link counts its own sends; a vote link, every link
# of its seat (a member sent a fresh link still votes at the same pace).

@dataclass(frozen=True)
class Pace:
    sends: int
    per: timedelta
    words: str  # "an hour", said to the person who sent too often


# Room for a person's own tries (a form refused for a missing amount counts too), not for a flood.
PACES = {"evidence": Pace(10, timedelta(hours=1), "an hour"), "outcome": Pace(10, timedelta(hours=1), "an hour"),
         "vote": Pace(10, timedelta(minutes=1), "a minute")}


class TooManySends(LinkError):
    """A genuine link that has sent as often as its pace allows; ``retry_dt`` is when it may again."""

    status_code = 429

    def __init__(self, message: str, *, retry_dt: datetime, pace: Pace):
        super().__init__(message, reason="too-many")
        self.retry_dt = retry_dt
        self.pace = pace


def too_many_sends(link: AccessLink, now: datetime) -> TooManySends | None:
    """The refusal when ``link`` has already sent as often as its purpose's pace allows."""
    pace = PACES.get(link.purpose)
    if pace is None:
        return None
    sent = select(LinkUse.used_dt).where(
        LinkUse.method == "POST", LinkUse.outcome == "ok", LinkUse.used_dt > now - pace.per)
    if link.purpose == "vote":
        sent = sent.join(AccessLink, AccessLink.id == LinkUse.link_id).where(AccessLink.seat_id == link.seat_id)
    else:
        sent = sent.where(LinkUse.link_id == link.id)
    recent = db.session.scalars(sent.order_by(LinkUse.used_dt.desc()).limit(pace.sends)).all()
    if len(recent) < pace.sends:
        return None
    return TooManySends(f"This page has been sent {pace.sends} times in {pace.words}, which is as often as it "
                        f"can be, so this last one was not saved.", retry_dt=recent[-1] + pace.per, pace=pace)


# The log of a link's uses ----------------------------------------------------------------------

USES_KEPT_PER_HOUR = 20  # a person's own visits fit; a scanner's storm beyond them is counted


def log_use(link: AccessLink, outcome: str, now: datetime) -> None:
    """Log one use of ``link`` in its own short transaction, committed at once.

    Written apart from the request's session, so neither a refusal, nor a rollback, nor a crash of
    the request loses it, and no view has to carry it through its own commit. The hour's first
    uses are kept in full, and every accepted send (which its pace bounds); the rest are counted.
    """
    method = request.method if request else ""
    hour = now.replace(minute=0, second=0, microsecond=0)
    with db.engine.begin() as connection:
        is_send = method == "POST" and outcome == "ok"
        kept = connection.scalar(select(func.count()).select_from(LinkUse).where(
            LinkUse.link_id == link.id, LinkUse.used_dt >= hour))
        if not is_send and kept >= USES_KEPT_PER_HOUR:
            _count_use(connection, link.id, hour, method, outcome, now)
            return
        connection.execute(insert(LinkUse), {
            "link_id": link.id,
            "used_dt": now,
            "method": method,
            "path": (request.path if request else "")[:500],
            "ip": (request.remote_addr or "")[:64] if request else "",
            "user_agent": (request.user_agent.string if request else "")[:500],
            "outcome": outcome,
        })


def _count_use(connection, link_id: int, hour: datetime, method: str, outcome: str, now: datetime) -> None:
    """One more use of the link in the hour starting at ``hour``, counted rather than kept."""
    period = (LinkUseCount.link_id == link_id, LinkUseCount.span == "hour", LinkUseCount.start_dt == hour,
              LinkUseCount.method == method, LinkUseCount.outcome == outcome)
    add = update(LinkUseCount).where(*period).values(uses=LinkUseCount.uses + 1, last_used_dt=now)
    if connection.execute(add).rowcount:
        return
    try:
        with connection.begin_nested():
            connection.execute(insert(LinkUseCount), {
                "link_id": link_id, "span": "hour", "start_dt": hour, "method": method, "outcome": outcome,
                "uses": 1, "last_used_dt": now})
    except IntegrityError:  # another request counted the hour's first such use a moment before
        connection.execute(add)


def link_visits(dispute_id: int) -> dict[str, tuple[int, datetime]]:
    """How often the resident opened each of their links to the dispute (GET, accepted), and when
    last: ``{"evidence": (3, last_dt)}``, from the uses kept in full and those only counted."""
    links = select(AccessLink.id, AccessLink.purpose).where(
        AccessLink.dispute_id == dispute_id, AccessLink.resident_id.is_not(None)).subquery()
    kept = (select(links.c.purpose, func.count(LinkUse.id), func.max(LinkUse.used_dt))
            .join(LinkUse, LinkUse.link_id == links.c.id)
            .where(LinkUse.outcome == "ok", LinkUse.method == "GET").group_by(links.c.purpose))
    counted = (select(links.c.purpose, func.sum(LinkUseCount.uses), func.max(LinkUseCount.last_used_dt))
               .join(LinkUseCount, LinkUseCount.link_id == links.c.id)
               .where(LinkUseCount.outcome == "ok", LinkUseCount.method == "GET").group_by(links.c.purpose))
    visits: dict[str, tuple[int, datetime]] = {}
    for purpose, count, last in [*db.session.execute(kept), *db.session.execute(counted)]:
        before, before_last = visits.get(purpose, (0, last))
        visits[purpose] = (before + int(count), max(last, before_last))
    return visits


def revoke_links(dispute_id: int, purpose: str | None, now: datetime, reason: str, *, seat_id=None) -> None:
    """Stop the dispute's links of ``purpose`` (None: all of them) working, in one UPDATE."""
    query = db.update(AccessLink).where(AccessLink.dispute_id == dispute_id, AccessLink.revoked_dt.is_(None))
    if purpose is not None:
        query = query.where(AccessLink.purpose == purpose)
    if seat_id is not None:
        query = query.where(AccessLink.seat_id == seat_id)
    db.session.execute(query.values(revoked_dt=now, revoked_reason=reason))
