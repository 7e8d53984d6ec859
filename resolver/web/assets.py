"""How pages, stylesheets and scripts travel to a browser on a slow phone connection.

A resident opens their page from an email, often on a phone: the page should paint, and its script
run, after one round trip. So each page carries its stylesheets and scripts inside it (a few kB once
compressed; the page's policy allows exactly those, by the hashes of their bytes, worked out once when
the app is built), and pages are sent compressed (brotli or gzip, by Flask-Compress) to browsers that
ask. A static file asked for by its address (a page from before a deploy, a future image) is served
under an address that carries a hash of its bytes and may be kept for a year (a changed file is a new
address, so nobody runs an old one). Stored files are not compressed: they are sent a block at a time,
and most are compressed already.
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, request
from flask_compress import Compress
from markupsafe import Markup, escape

FOREVER = "public, max-age=31536000, immutable"
# An address without the current hash (an old page in a tab, a hand-typed address): the file as it is
# now, kept a few minutes only.
BRIEFLY = "public, max-age=300"
COMPRESSION = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/json"],
    "COMPRESS_STREAMS": False,  # a download streamed from storage stays streamed
    # Brotli's level 5 makes a page about a tenth smaller than Flask-Compress's 4 for a tenth of a
    # millisecond more (a 13 kB page: 3.9 → 3.6 kB); 10 and 11 save a little more for 7–18 ms a page.
    "COMPRESS_BR_LEVEL": 5,
}
# What a page carries inside it, by extension: the element it goes in (allowed by "<element>-src" in the policy).
CARRIED = {".css": "style", ".js": "script"}
# A stylesheet's comments are notes for whoever edits it: a page carries it without them (a quarter of
# the base stylesheet's bytes once compressed).
_CSS_COMMENT = re.compile(rb"/\*.*?\*/", re.S)
_QUOTED_COMMENT_START = re.compile(rb"[\"'][^\"'\n]*/\*")
# "resident.1a2b3c4d5e.css": the name, the hash of the bytes, the extension.
_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[^.]+)$")


@dataclass(frozen=True)
class Asset:
    body: bytes
    fingerprint: str  # the first ten hex digits of the bytes' SHA-256
    mimetype: str
    policy_source: str  # how a Content-Security-Policy names these bytes inside a page: 'sha256-...'
    element: str | None = None  # "style" or "script" for a file a page can carry inside it

    def address(self, name: str) -> str:
        path = Path(name)
        return str(path.with_name(f"{path.stem}.{self.fingerprint}{path.suffix}"))


def read_assets(folder: Path) -> dict[str, Asset]:
    """Every file under the static folder, by its name there, read once when the app is built (a changed
    file is served once the app is started again, as on a deploy)."""
    assets = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        body = _as_sent(path)
        digest = hashlib.sha256(body)
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        element = CARRIED.get(path.suffix)
        if element and f"</{element}".encode() in body.lower():
            raise ValueError(f"{path.name} holds </{element}, which would end it early inside a page")
        assets[path.relative_to(folder).as_posix()] = Asset(
            body, digest.hexdigest()[:10], mimetype, f"'sha256-{base64.b64encode(digest.digest()).decode()}'",
            element)
    return assets


def _as_sent(path: Path) -> bytes:
    """The file's bytes as pages carry them and /static serves them: a stylesheet without its comments."""
    body = path.read_bytes()
    if path.suffix != ".css":
        return body
    if _QUOTED_COMMENT_START.search(body):
        raise ValueError(f"{path.name} has /* inside quotes, which removing its comments would cut")
    return _CSS_COMMENT.sub(b"", body)


def init_app(app: Flask) -> None:
    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    Compress(app)
    app.extensions["resolver.assets"] = read_assets(Path(app.static_folder))
    app.url_defaults(_fingerprint_static_addresses)
    app.view_functions["static"] = send_asset
    app.add_template_global(stylesheet)
    app.add_template_global(script)
    app.before_request(_forget_carried)


def _forget_carried() -> None:
    g.pop("carried_sources", None)  # g outlives a request when an app context was pushed already (tests)


def _assets() -> dict[str, Asset]:
    return current_app.extensions["resolver.assets"]


def _fingerprint_static_addresses(endpoint: str, values: dict) -> None:
    """``url_for('static', filename='evidence-form.js')`` gives /static/evidence-form.<hash>.js."""
    if endpoint == "static" and (asset := _assets().get(values.get("filename", ""))):
        values["filename"] = asset.address(values["filename"])


def send_asset(filename: str) -> Response:
    """A static file: kept for a year under its current fingerprinted address, briefly under any other."""
    assets = _assets()
    name, fingerprint = filename, None
    if (match := _FINGERPRINTED.match(filename)) and f"{match['stem']}{match['suffix']}" in assets:
        name, fingerprint = f"{match['stem']}{match['suffix']}", match["hash"]
    asset = assets.get(name)
    if asset is None:
        abort(404)
    response = Response(asset.body, mimetype=asset.mimetype)
    response.headers["Cache-Control"] = FOREVER if fingerprint == asset.fingerprint else BRIEFLY
    response.set_etag(asset.fingerprint)
    return response.make_conditional(request)


def stylesheet(name: str) -> Markup:
    """The static stylesheet ``name`` inside the page, in a ``<style>`` the page's policy allows by its hash."""
    return carry(name)


def script(name: str, **data: object) -> Markup:
    """The static script ``name`` inside the page, in a ``<script>`` the page's policy allows by its hash;
    ``draft=7`` gives it ``data-draft="7"`` to read (the hash covers the script, not its attributes)."""
    return carry(name, {f"data-{key.replace('_', '-')}": value for key, value in data.items()})


def carry(name: str, attributes: dict[str, object] | None = None) -> Markup:
    """The static file ``name`` inside the page, its hash noted for the page's policy (carried_sources)."""
    asset = _assets()[name]
    g.setdefault("carried_sources", {}).setdefault(f"{asset.element}-src", []).append(asset.policy_source)
    named = "".join(f' {key}="{escape(value)}"' for key, value in {"data-file": name, **(attributes or {})}.items())
    return Markup(f"<{asset.element}{named}>{asset.body.decode('utf-8')}</{asset.element}>")


def carried_sources() -> dict[str, list[str]]:
    """The policy sources ('sha256-...') of the stylesheets and scripts the current page carries inside it,
    by the directive that allows them: {"style-src": [...], "script-src": [...]}."""
    return g.get("carried_sources", {})
