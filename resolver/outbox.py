"""Queueing email: render a template pair and write it to the outbox in the caller's transaction.

The worker sends it as soon as the transaction commits (``resolver.wakeup``, ``resolver.mail``).
Rendering now, not at send time, means the email says exactly what was true when the change that
caused it committed. Only its links wait: they are written relative to the public address
(``links.email_url``), which the worker fills in as it sends.
"""
from __future__ import annotations

import uuid

from flask import current_app

from .clock import now_utc
from .extensions import db
from .links import has_links
from .models import OutboxEmail
from .wakeup import mark_email_queued


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """Return (subject, text, html) for ``templates/emails/<template>.txt`` and ``.html``."""
    env = current_app.jinja_env
    text_template = env.get_template(f"emails/{template}.txt")
    html_template = env.get_template(f"emails/{template}.html")
    full_context = {**current_app.jinja_env.globals, **context}
    subject_block = text_template.blocks.get("subject")
    if subject_block is None:
        raise LookupError(f"emails/{template}.txt has no subject block")
    subject = "".join(subject_block(text_template.new_context(full_context))).strip()
    # The subject is a header, not the first line of the body: render the text with that block empty.
    body_context = text_template.new_context(full_context)
    body_context.blocks["subject"] = [lambda _context: iter(())]
    body_text = "".join(text_template.root_render_func(body_context))
    return " ".join(subject.split()), body_text.strip() + "\n", html_template.render(context)


def queue_email(
    template: str,
    *,
    to_addr: str,
    to_name: str = "",
    context: dict,
    company=None,
    dispute=None,
    attachments: list[dict] | None = None,
    reply_token: str | None = None,
    is_auto_reply: bool = False,
) -> OutboxEmail:
    """Render ``template`` and add it to the outbox. ``reply_token``: replies go to Resolver's reply
    address with it (``resolver.inbound.addresses``); ``is_auto_reply``: an answer to mail received,
    marked so no machine answers it back."""
    if not to_addr:
        raise ValueError(f"no address to send {template!r} to")
    context = {"company": company, "dispute": dispute, "recipient_name": to_name, **context}
    subject, body_text, body_html = render_email(template, context)
    domain = current_app.config.get("MESSAGE_ID_DOMAIN") or "resolver.local"
    email = OutboxEmail(
        company_id=company.id if company is not None else None,
        dispute_id=dispute.id if dispute is not None else None,
        template=template,
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
        to_addr=to_addr,
        to_name=to_name,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attachments=attachments or [],
        reply_token=reply_token,
        is_auto_reply=is_auto_reply,
        has_links=has_links(subject, body_text, body_html),
        next_attempt_dt=now_utc(),
    )
    db.session.add(email)
    mark_email_queued(db.session())  # the sender is woken when this commits
    return email
