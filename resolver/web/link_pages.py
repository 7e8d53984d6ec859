"""Pages behind a person's email link (the resident's, a team member's): the link in the URL is
checked before anything else runs, CSRF's check included, and its use logged whatever happens next."""
from __future__ import annotations

from typing import Callable

from flask import g, render_template, request

from ..clock import now_utc
from ..errors import LinkError
from ..extensions import db
from ..i18n import speak_to
from ..links import TooManySends, resolve_link
from ..models import AccessLink, Dispute, Resident


def check_link(endpoint: str | None, values: dict | None, *, endpoints: frozenset[str], purpose: str,
               holder_problem: Callable[[AccessLink], LinkError | None]) -> bool:
    """For a blueprint's ``url_value_preprocessor``: when ``endpoint`` is one of ``endpoints``, put the
    link behind the URL's token in ``g.link`` (or the refusal in ``g.link_problem``) and say True."""
    if endpoint not in endpoints or not values:
        return False
    g.link, g.link_problem = None, None
    try:
        g.link = resolve_link(values["token"], purpose, holder_problem=holder_problem)
    except LinkError as problem:
        g.link_problem = problem
    return True


def speak_to_holder() -> None:
    """A resident's link page speaks the language of the resident it was sent to (found once the link
    is: a link nobody recognises is answered in English)."""
    link = g.link or getattr(g.link_problem, "link", None)
    if link is None:
        return
    resident_id = link.resident_id or db.session.get(Dispute, link.dispute_id).resident_id
    speak_to(db.session.get(Resident, resident_id))


def too_many_sends_page(template: str, problem: TooManySends, **context):
    """The kind page for a link that has sent as often as its pace allows (429, with when to try again)."""
    page = render_template(template, problem=problem, token=request.view_args["token"], **context)
    wait = max(1, int((problem.retry_dt - now_utc()).total_seconds()) + 1)
    return page, 429, {"Retry-After": str(wait)}
