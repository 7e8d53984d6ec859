"""The Mailbox: email Resolver caught on this machine, for staff to read and click through.

When Resolver runs without a mail server, every email it sends lands here instead of in someone's
inbox. Following a link in a resident's or a panel member's email is how one person tries the whole
process on one machine. A staff member sees their own company's mail only.
"""
from __future__ import annotations

import io
import re

from babel.dates import format_datetime
from flask import abort, current_app, render_template, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ...i18n import format_locale
from ...installation import public_address
from ...mail import outbox_counts, waiting_for_address
from ...mailcatcher import is_catching, list_messages, mailbox_folder, read_attachment, read_message, read_raw
from ...uploads import served_name
from ...workdays import local
from . import blueprint

# Links in a plain-text email: up to whitespace or an angle bracket, without closing punctuation.
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""
SHOWN = 200  # the newest messages listed; older ones stay on disk


def linkify(text: str) -> Markup:
    """The text, escaped, with each http(s) address made a link that opens beside the mailbox."""
    pieces = []
    position = 0
    for match in _LINK.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        pieces.append(escape(text[position:match.start()]))
        pieces.append(Markup('<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>').format(url))
        position = match.start() + len(url)
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


def framed_html(html: str) -> str:
    """The HTML part as an iframe's document: links open in a new tab, never inside the frame."""
    return '<base target="_blank">' + html


def _company():
    return getattr(current_user, "company", None)


def _when(value) -> str:
    company = _company()
    moment = local(value, company) if company is not None else value
    return format_datetime(moment, "EEE d MMM, h:mm a", locale=format_locale())


def _size(count: int) -> str:
    if count < 1024:
        return _("%(count)s bytes", count=count)
    if count < 1024 * 1024:
        return _("%(size).0f KB", size=count / 1024)
    return _("%(size).1f MB", size=count / 1024 / 1024)


def _mail_server() -> str:
    server = current_app.config.get("MAIL_SERVER")
    return f"{server}:{current_app.config.get('MAIL_PORT')}" if server else ""


def _own_message(message_id: str):
    message = read_message(message_id)
    company_id = getattr(current_user, "company_id", None)
    if message is None or message.company_id not in (None, company_id):
        abort(404)
    return message


@blueprint.get("/")
@login_required
def inbox():
    company_id = getattr(current_user, "company_id", None)
    messages = list_messages(company_id=company_id)
    return render_template(
        "mailbox/inbox.html",
        messages=messages[:SHOWN],
        older=max(len(messages) - SHOWN, 0),
        folder=mailbox_folder(),
        counts=outbox_counts(company_id),
        # Emails whose links need the public address wait while nobody has said what it is.
        waiting_for_address=waiting_for_address(company_id) if public_address() is None else 0,
        is_catching=is_catching(),
        mail_server=_mail_server(),
        when=_when,
    )


@blueprint.get("/<message_id>")
@login_required
def message(message_id: str):
    return render_template(
        "mailbox/message.html",
        message=_own_message(message_id),
        linkify=linkify,
        when=_when,
        size=_size,
    )


# The email's HTML part, shown as an email program would: its own inline styles, no script, no
# origin of its own (sandbox), framed by the mailbox page only.
_EMAIL_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; "
                 "sandbox allow-popups allow-popups-to-escape-sandbox")


@blueprint.get("/<message_id>/html")
@login_required
def message_html(message_id: str):
    message = _own_message(message_id)
    if not message.html:
        abort(404)
    response = current_app.response_class(framed_html(message.html), mimetype="text/html")
    response.headers["Content-Security-Policy"] = _EMAIL_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@blueprint.get("/<message_id>/attachments/<int:index>")
@login_required
def attachment(message_id: str, index: int):
    _own_message(message_id)
    found = read_attachment(message_id, index)
    if found is None:
        abort(404)
    filename, content_type, data = found
    response = send_file(io.BytesIO(data), mimetype=content_type, as_attachment=True,
                         download_name=served_name(filename, content_type))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@blueprint.get("/<message_id>/original.eml")
@login_required
def original(message_id: str):
    _own_message(message_id)
    response = send_file(
        io.BytesIO(read_raw(message_id) or b""), mimetype="message/rfc822", as_attachment=True,
        download_name=f"{message_id}.eml",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
