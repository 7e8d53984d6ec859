"""The headers every response carries: what a browser may load and run, who may frame a page, what it
sends on in a Referer, and what it may keep.

Residents and panel members open their pages from a link in an email that carries their token, and
staff pages hold residents' details: no page may be framed by another site, leak its address to
whatever it loads, or be kept by a cache. One after-request hook sets this for the whole app; a view
that needs a policy of its own (a download's sandbox, the mailbox's framed email) sets it, and the hook
keeps it.
"""
from __future__ import annotations

import re

from flask import Flask, Response, request
from markupsafe import Markup

from .assets import carried_sources

# No inline script or style but the scripts and stylesheets a page carries (assets.script, assets.stylesheet),
# each allowed by the hash of its bytes: they are files under resolver/static/, never written by a page.
DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    # The address of a resident's or a member's page holds their token: it is never sent on.
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=31536000"
# Stylesheets and scripts are the same for everyone (assets.send_asset says for how long); everything else
# is someone's page or file.
CACHEABLE_ENDPOINTS = {"static"}

# A style attribute in HTML Resolver rendered itself (a letter). Quotes inside typed text are escaped,
# so the pattern cannot end early or start inside it.
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="[^"]*"')


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.add_template_filter(without_inline_styles)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy_allowing(carried_sources()))
    headers.setdefault("X-Frame-Options", "DENY")  # for browsers that predate frame-ancestors
    headers.update(ALWAYS)
    if request.endpoint not in CACHEABLE_ENDPOINTS and not response.cache_control.no_store:
        headers["Cache-Control"] = "private, no-store"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def policy_allowing(carried: dict[str, list[str]]) -> str:
    """The policy of DIRECTIVES, with the scripts and stylesheets a page carries inside it allowed too,
    each by its hash ({"style-src": ["'sha256-...'"], "script-src": [...]})."""
    def directive(text: str) -> str:
        name = text.split(" ", 1)[0]
        return " ".join([text, *dict.fromkeys(carried[name])]) if carried.get(name) else text
    return "; ".join(directive(d) for d in DIRECTIVES)


def without_inline_styles(html: str) -> Markup:
    """A letter's HTML as a page shows it: its inline styles (which the email needs) are left out and
    resolver.css styles it instead, since the page's policy refuses inline styles."""
    return Markup(_STYLE_ATTRIBUTE.sub("", str(html)))
