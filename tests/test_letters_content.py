"""What the outcome letter says for each decision, and what the PDF kept on the dispute contains."""
from __future__ import annotations

import io
from datetime import timedelta

import pypdf
import pytest
from sqlalchemy import select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import read_bytes
from resolver.models import OutboxEmail
from resolver.services import outcome

DETAILS = "The carpet was clean when I left; I have photos."
ASKED = "Refund the $150 cleaning charge."
ITEMS = [
    {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains in the bedroom."},
    {"description": "Wall repair", "amount_cents": 8000, "company_reason": "Holes by the door."},
]


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def drafted(make_dispute, staff, *, votes, items=None, before_draft=None):
    dispute = make_dispute("decided", votes=votes, items=items)
    if before_draft is not None:
        before_draft(dispute)
    return dispute, outcome.draft_outcome(staff, dispute)


def plain(letter) -> str:
    return " ".join(letter.body_text.split())


def assert_common_parts(letter, dispute):
    text = plain(letter)
    assert text.startswith(f"Dear {dispute.resident.name},")  # a neighborly opening
    assert "I'm sorry you have had this trouble with the deductions from your security deposit" in text
    assert f"> {DETAILS}" in letter.body_text  # the issue as the resident put it, quoted
    assert f"You asked us to: “{ASKED}”" in text  # their words, quoted as theirs
    assert "resolution team: three people in property management who had no part in the original decision" in text
    assert "What happens next:" in text and "within 7 days" in text
    assert "Thank you for bringing this to us" in text
    assert outcome.tone_flags(letter) == []  # the draft passes its own tone check
    assert "Panelist" not in letter.body_text  # anonymised by default


def test_upheld_the_letter_says_our_decision_stands_gives_the_dissent_and_still_offers_a_token(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, votes=("compromise", "uphold", "uphold"))
    assert_common_parts(letter, dispute)
    text = plain(letter)
    assert "The team found that our decision was fair." in text
    assert "Our decision stands. Even so, we would like to do something" in text
    # Honest feedback: what the majority said, and where a member thought the company was wrong.
    # Members who wrote the same words are quoted once.
    assert "What the team told us: - Two team members wrote: “The photos and the inspection report point this " \
           "way.”" in text
    assert "the same way, and you should know that too: - A team member wrote: “The photos" in text
    assert "Not everyone on the team saw it the same way" in text
    assert (letter.token_kind, letter.token_cents, letter.concession_cents) == ("coffee-shop gift card", 2500, None)


def test_upheld_with_nothing_to_offer_the_letter_says_so_kindly_and_plainly(make_company, make_dispute, staff,
                                                                              company):
    def lower_the_cap(dispute):
        company.token_cap_cents = 0  # the company stopped giving tokens after the team voted

    dispute, letter = drafted(make_dispute, staff, votes=("uphold", "uphold", "uphold"), before_draft=lower_the_cap)
    text = plain(letter)
    assert "I'm very sorry, but after this review there is nothing more I can do about the deductions from your " \
           "security deposit: our decision stands." in text
    assert "offer" not in text.lower()
    assert not letter.has_offer
    assert letter.draft_notes == ["The team recommended a $25 token; the company limit is $0, so the draft offers none."]
    assert "Not everyone" not in text


def test_for_the_resident_the_letter_admits_the_mistake_and_does_what_was_asked(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, votes=("uphold", "resident", "resident"))
    assert_common_parts(letter, dispute)
    text = plain(letter)
    assert "The team agreed with you, and I accept that we got this wrong. I'm sorry for that." in text
    assert "We will do what you asked, for the full $150." in text
    assert f"We will do what you asked: {ASKED}" not in text  # their words are never spliced into ours
    # The median of the winning side's recommendations.
    assert (letter.token_cents, letter.concession_cents) == (2500, 5000)


def test_a_compromise_with_items_says_what_happens_to_each_item(make_dispute, staff):
    def decide_items(dispute):
        carpet, wall = dispute.items
        carpet.decision, carpet.granted_cents = "compromise", 7500
        wall.decision, wall.granted_cents = "uphold", None

    dispute, letter = drafted(make_dispute, staff, votes=("uphold", "compromise", "compromise"), items=ITEMS,
                              before_draft=decide_items)
    assert_common_parts(letter, dispute)
    text = plain(letter)
    assert "you are right about part of this, and that we got part of it wrong. I'm sorry for our part in it." in text
    assert "Here is what we decided on each item you disputed:" in text
    assert "- Carpet cleaning ($150): we will take $75 off this charge, so you owe $75 for it." in letter.body_text
    assert "- Wall repair ($80): this charge stands." in letter.body_text
    html = letter.body_html
    assert "<li style=\"margin: .3em 0;\">Carpet cleaning ($150): we will take $75 off this charge, so you owe $75 " \
           "for it.</li>" in html


def test_a_resident_item_is_removed_in_full(make_dispute, staff):
    def decide_items(dispute):
        for item in dispute.items:
            item.decision, item.granted_cents = "resident", None

    _, letter = drafted(make_dispute, staff, votes=("resident", "resident", "resident"), items=ITEMS,
                        before_draft=decide_items)
    assert "- Carpet cleaning ($150): we will remove this charge in full." in letter.body_text
    assert "- Wall repair ($80): we will remove this charge in full." in letter.body_text


def test_after_a_deadlock_the_letter_says_the_manager_decided_and_why(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, votes=("uphold", "resident", "compromise"))
    assert dispute.decided_by == "manager" and dispute.decision == "compromise"
    assert_common_parts(letter, dispute)
    text = plain(letter)
    assert "The team was divided, so the decision fell to me. I decided to meet you partway. " \
           "My reason: Split the difference." in text
    assert "We would like to meet you partway, with the offer set out below." in text
    assert (letter.token_cents, letter.concession_cents) == (2500, 5000)


def test_when_the_company_names_its_panel_the_letter_does_too(make_dispute, staff, company):
    company.is_panel_anonymous = False
    _, letter = drafted(make_dispute, staff, votes=("uphold", "uphold", "uphold"))
    assert "(Peer Management 1) wrote:" in letter.body_text
    assert "A team member wrote" not in letter.body_text


def test_a_letter_drafted_late_apologises_for_the_delay(make_dispute, staff):
    dispute = make_dispute("decided")
    clock.advance(dispute.reply_due_dt - clock.now_utc() + timedelta(hours=2))
    letter = outcome.draft_outcome(staff, dispute)
    assert "I'm also sorry this reply comes later than the 7 days we promised you." in plain(letter)
    assert outcome.tone_flags(letter) == []


def test_the_frame_carries_the_offer_the_ladder_and_the_companys_own_mediation_service(make_dispute, staff, company):
    _, letter = drafted(make_dispute, staff, votes=("uphold", "resident", "resident"))
    html = letter.body_html
    assert "Our offer to you" in html
    assert "a $25 coffee-shop gift card" in html and "$50 back from your security deposit" in html
    assert "Sam Supervisor, who supervises this office, on 303-555-0100" in html
    assert "Our home office is on 303-555-0199." in html
    assert "Front Range Tenant-Landlord Mediation, an outside mediation service" in html
    assert "Better Business Bureau" not in html and "BBB" not in html


def test_without_a_mediation_service_in_the_settings_the_letter_promises_none(make_dispute, staff, company):
    company.mediation_service_name = ""
    _, letter = drafted(make_dispute, staff, votes=("uphold", "uphold", "uphold"))
    assert "mediation" not in letter.body_html.lower()
    assert "BBB" not in letter.body_html and "Better Business Bureau" not in letter.body_html
    assert "Sam Supervisor" in letter.body_html  # the way up the ladder is always there


def test_what_the_manager_types_is_shown_as_text_never_as_markup(make_dispute, staff):
    _, letter = drafted(make_dispute, staff, votes=("uphold", "uphold", "uphold"))
    outcome.edit_letter(staff, letter, body_text=letter.body_text + '\n<script>alert("hi")</script> & <b>bold</b>\n')
    assert "<script>" not in letter.body_html and "<b>" not in letter.body_html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in letter.body_html


def test_the_pdf_opens_and_holds_the_restated_issue_the_offer_and_its_dates(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, votes=("uphold", "resident", "resident"))
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    pdf = read_bytes(letter.pdf_sha256)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert DETAILS in text
    assert f"You asked us to: “{ASKED}”" in text
    assert "Our offer to you" in text
    assert "a $25 coffee-shop gift card" in text and "$50 back from your security deposit" in text
    assert "This offer is open until Wednesday 8 April 2026." in text  # 30 days, in Denver
    assert "Please let me know you received this letter by Monday 16 March 2026." in text
    assert "Tammy Rivera" in text and "Morgan Manager" in text
    email = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "outcome_letter")).one()
    assert email.attachments == [{"filename": f"resolver-letter-{dispute.id}.pdf", "content_type": "application/pdf",
                                  "sha256": letter.pdf_sha256}]
    assert DETAILS in email.body_text and "a $25 coffee-shop gift card" in email.body_text
    assert "/r/o/" in email.body_text and "/r/o/" in email.body_html


def test_when_too_few_of_the_team_voted_the_letter_says_so(make_dispute, staff):
    from resolver.services import panel

    dispute = make_dispute("panel_review")
    panel.close_panel(Actor.system(), dispute)
    panel.decide_deadlock(staff, dispute, decision="uphold", note="The inspection report is clear.")
    letter = outcome.draft_outcome(staff, dispute)
    text = plain(letter)
    assert "Not enough of the team could give a view in time, so the decision fell to me. I decided to keep our " \
           "decision. My reason: The inspection report is clear." in text
    assert "What the team told us" not in text and not letter.has_offer
    assert "nothing more I can do" in text
    assert outcome.tone_flags(letter) == []
