"""What a JSON body may be before the API reads it, and how names in it are taken.

A body is at most ``MAX_BODY_BYTES`` and nested at most ``MAX_DEPTH`` deep (Resolver's own bodies
are three deep): a body of 50,000 ``[`` would otherwise exhaust the parser's stack. Names and email
addresses are one line each, as they are on the staff's forms, since they end up in email headers.
"""
from __future__ import annotations

import re

from flask import abort, request

from ...errors import InvalidInput
from ...text import cleaned_line, line_problem

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 16
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")
_WHAT = {"name": "A name", "email": "An email address"}


def check_body() -> None:
    """Refuse a body too large (413) or nested too deep (400) before anything parses it."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        abort(413, f"Send at most {MAX_BODY_BYTES // 1024:,} KB of JSON at once.")
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:
        abort(413, f"Send at most {MAX_BODY_BYTES // 1024:,} KB of JSON at once.")
    if nesting_depth(data) > MAX_DEPTH:
        raise InvalidInput(f"The JSON is nested too deeply: at most {MAX_DEPTH} levels of [ ] and {{ }}.")


def nesting_depth(data: bytes) -> int:
    """How deep the brackets of a JSON text go (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', data)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def one_line(body: dict, names=("name", "email"), *, within: str = "") -> dict:
    """``body`` with its names and email addresses as they are kept: refused when one holds a line
    break or a control character, with invisible characters removed (``within`` names the object
    they are in, for the error's field: "resident.")."""
    cleaned = dict(body)
    for name in names:
        value = body.get(name)
        if isinstance(value, str):
            if problem := line_problem(value.strip(), _WHAT.get(name, "A name")):
                raise InvalidInput(problem, field=within + name)
            cleaned[name] = cleaned_line(value)
    return cleaned
