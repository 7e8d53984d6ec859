"""Pages behind a person's email link (the resident's, a team member's): the link in the URL is
checked before anything else runs, CSRF's check included, and its use logged whatever happens next."""
from __future__ import annotations

from typing import Callable

from flask import g

from ..errors import LinkError
from ..links import resolve_link
from ..models import AccessLink


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
