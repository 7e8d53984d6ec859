"""Letter rendering: one outcome letter to HTML, plain text and PDF, as ``send_outcome`` makes them.

The letter is a real approved draft: a dispute driven through the verbs to a decided team of 5,
drafted from their votes and approved. Each repeat builds the letter's context and renders the
email's HTML fragment, the plain text, and the PDF (the full HTML document through WeasyPrint).
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from .common import make_app, median, row, seed_company, sqlite_url

NAME = "letter_render"


def approved_letter(ids: dict):
    """A dispute through the verbs to an approved letter; returns (letter id, dispute id)."""
    from resolver.actors import Actor
    from resolver.extensions import db
    from resolver.models import Resident, StaffUser
    from resolver.services import disputes, evidence, outcome, panel

    from .lifecycle import VOTES

    manager = db.session.get(StaffUser, ids["manager"])
    resident = db.session.get(Resident, ids["resident"])
    staff = Actor.staff(manager)
    dispute = disputes.create_dispute(
        staff, resident=resident, issue="The carpet-cleaning charge on the deposit is unfair.",
        what_was_fixed="We re-inspected the carpet and refunded the pet fee.",
        company_position="The carpet needed professional cleaning.", category="security deposit",
        items=[{"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom"},
               {"description": "Blind replacement", "amount_cents": 4500, "company_reason": "Two slats broken"}],
    )
    disputes.open_dispute(staff, dispute)
    evidence.submit_evidence(
        Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
        details="The carpet was clean when I left; I have photos of every room.\n\nThe blinds were already broken "
                "when I moved in; it is on the move-in checklist.",
        suggested_resolution="Refund the $150 cleaning charge.", suggested_amount_cents=15000,
    )
    seats = panel.seat_panel(staff, dispute, ids["members"])
    panel.send_to_panel(staff, dispute)
    for seat, choice in zip(seats, VOTES):
        panel.record_vote(
            Actor.panel(seat.member), seat, choice=choice,
            reason=f"{seat.member.name}: the photos and the move-in checklist point this way.",
            token_kind="coffee-shop gift card", token_cents=2500, concession_cents=5000 if choice != "uphold" else None,
        )
    letter = outcome.draft_outcome(staff, dispute)
    outcome.approve_letter(staff, letter)
    db.session.commit()
    return letter.id, dispute.id


def run(quick: bool, workdir: Path) -> list[dict]:
    from resolver.clock import now_utc
    from resolver.extensions import db
    from resolver.letters import render
    from resolver.letters.pdf import html_to_pdf
    from resolver.models import Dispute, Letter

    repeats = 3 if quick else 15
    app = make_app(workdir, sqlite_url(workdir))
    with app.app_context():
        letter_id, dispute_id = approved_letter(seed_company())
        letter, dispute = db.session.get(Letter, letter_id), db.session.get(Dispute, dispute_id)
        times: dict[str, list[float]] = {"html": [], "text": [], "pdf": [], "all": []}
        for attempt in range(repeats + 1):  # the first warms the templates and WeasyPrint's fonts
            start = time.perf_counter()
            context = render.letter_context(letter, dispute, dated_dt=now_utc())
            fragment = render.render_fragment(context)
            after_html = time.perf_counter()
            text = render.render_text(context)
            after_text = time.perf_counter()
            pdf = html_to_pdf(render.render_document(context))
            end = time.perf_counter()
            if not (fragment and text and pdf.startswith(b"%PDF")):
                raise RuntimeError("the letter did not render")
            if attempt:
                times["html"].append(after_html - start)
                times["text"].append(after_text - after_html)
                times["pdf"].append(end - after_text)
                times["all"].append(end - start)
        db.engine.dispose()
    ms = {kind: median(values) * 1000 for kind, values in times.items()}
    note = f"median of {repeats}; {len(pdf) // 1024} kB PDF"
    return [
        row(NAME, "HTML (email part)", ms["html"], "ms", note="context built and the fragment rendered"),
        row(NAME, "plain text", ms["text"], "ms"),
        row(NAME, "PDF (WeasyPrint)", ms["pdf"], "ms"),
        row(NAME, "HTML + text + PDF", ms["all"], "ms", target="<= 250", met=ms["all"] <= 250, note=note),
    ]
