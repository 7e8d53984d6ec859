"""The tone check on whole letters, as the resident gets them: drafts of each decision pass, and a
letter that loses a part the written outcome needs (the team's feedback, two options when the
decision goes against the resident, a date, the ladder, mediation) is flagged, where the company's
frame does not already supply it. A blocking finding is approved only with a reason, kept."""
from __future__ import annotations

import pytest

from resolver.actors import Actor
from resolver.extensions import db
from resolver.letters import render
from resolver.letters.tone import check_letter, reading_grade, without_quotations
from resolver.services import outcome

from .dispute_checks import history, refused

VOTES = {
    "uphold": ("uphold", "uphold", "uphold"),
    "resident": ("resident", "resident", "resident"),
    "compromise": ("compromise", "compromise", "uphold"),
}


@pytest.fixture
def staff(manager):
    return Actor.staff(manager)


def drafted(make_dispute, staff, decision: str, **kwargs):
    dispute = make_dispute("decided", votes=VOTES[decision], **kwargs)
    return dispute, outcome.draft_outcome(staff, dispute)


def codes(letter) -> list[str]:
    return [flag.code for flag in outcome.tone_flags(letter)]


def without(body: str, *snippets: str) -> str:
    """The letter's words less every paragraph (or list line) that contains one of ``snippets``."""
    paragraphs = body.split("\n\n")
    kept = []
    for paragraph in paragraphs:
        lines = [line for line in paragraph.split("\n") if not any(s in line for s in snippets)]
        if lines and not any(s in paragraph.split("\n")[0] for s in snippets):
            kept.append("\n".join(lines))
    return "\n\n".join(kept) + "\n"


def final_text(letter, dispute) -> str:
    """The letter's text as it would go if sent when it was drafted."""
    return render.render_text(outcome.letter.sending_context(letter, dispute, letter.created_dt))


@pytest.mark.parametrize("decision", list(VOTES))
def test_the_draft_of_each_decision_has_every_part_and_reads_at_grade_8_or_below(make_dispute, staff, decision):
    dispute, letter = drafted(make_dispute, staff, decision)
    assert codes(letter) == []
    text = final_text(letter, dispute)
    # What the frame guarantees, so the check does not ask the manager for it again.
    assert "Please let me know you received this letter by" in text
    assert "who supervises this office" in text and "an outside mediation service" in text
    assert reading_grade(without_quotations(letter.body_text)) <= 8


@pytest.mark.parametrize("decision", list(VOTES))
def test_a_letter_without_the_teams_feedback_is_flagged(make_dispute, staff, decision):
    dispute, letter = drafted(make_dispute, staff, decision)
    body = without(letter.body_text, "team", "wrote:")
    assert "team" not in body
    outcome.edit_letter(staff, letter, body_text=body)
    assert codes(letter) == ["missing_feedback"]


def test_a_decision_against_the_resident_needs_two_options(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, "uphold")
    outcome.edit_letter(staff, letter, token_cents=0, concession_cents=0)  # the team's offer, taken away
    assert not letter.has_offer
    assert "You still have some choices:" in letter.body_text
    # The draft's choices: the offer (taken away above), going over the records, sending something new, the
    # supervisor, mediation.
    one_left = without(letter.body_text, "You can accept the offer", "If you have something new",
                       "look at this again", "an outside mediation service")
    outcome.edit_letter(staff, letter, body_text=one_left)
    flags = outcome.tone_flags(letter)
    assert [flag.code for flag in flags] == ["too_few_options"]
    assert "offers only one" in flags[0].message
    outcome.edit_letter(staff, letter, body_text=without(one_left, "You still have some choices"))
    assert [flag.message for flag in outcome.tone_flags(letter)][0].startswith(
        "The decision goes against the resident, and the letter offers none.")
    # An offer in the frame counts: a token is one option, the manager's own suggestion another.
    outcome.edit_letter(staff, letter, token_kind="coffee-shop gift card", token_cents=2000,
                        body_text=one_left.replace("You still have some choices:\n", ""))
    assert codes(letter) == []


def test_a_decision_for_the_resident_needs_no_options(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, "resident")
    assert "You still have some choices" not in letter.body_text
    assert codes(letter) == []


def test_the_ladder_and_mediation_come_from_the_settings_or_the_letter(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, "compromise")
    company = dispute.company
    company.supervisor_name = company.supervisor_phone = company.supervisor_email = ""
    company.home_office_phone = ""
    company.mediation_service_name = company.mediation_service_contact = ""
    db.session.flush()
    # The draft named both as choices, from the settings as they were: without them, nothing names them.
    outcome.edit_letter(staff, letter, body_text=without(letter.body_text, "look at this again",
                                                         "an outside mediation service"))
    assert codes(letter) == ["missing_ladder", "missing_mediation"]

    company.is_without_mediation = True  # chosen on purpose: the letter need not name one
    db.session.flush()
    assert codes(letter) == ["missing_ladder"]

    outcome.edit_letter(staff, letter, body_text=letter.body_text.replace(
        "Thank you for bringing", "If you would like someone else to look at this, our regional manager, Lee Park, "
                                  "is on 303-555-0142.\n\nThank you for bringing"))
    assert codes(letter) == []


def test_a_letter_with_no_date_for_the_next_step_is_flagged():
    text = ("I'm sorry. The team found our charge fair. Our supervisor is Sam. Outside mediation is there too. "
            "I will call you soon. Thank you.")
    assert [f.code for f in check_letter(text, own_words=text, is_against_resident=False,
                                         is_without_mediation=False)] == ["missing_date"]
    dated = text.replace("soon", "by 4 December 2026")
    assert check_letter(dated, own_words=dated, is_against_resident=False, is_without_mediation=False) == []


def test_hard_words_and_long_sentences_are_advice_and_approval_needs_no_reason(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, "resident")
    dense = 6 * ("Notwithstanding the considerable documentation accompanying your communication, the organisation's "
             "comprehensive evaluation determined, following deliberation among independent professional "
             "representatives, that reimbursement of the contested administrative expenditure is appropriate. ")
    outcome.edit_letter(staff, letter, body_text=letter.body_text.replace("Thank you for bringing",
                                                                         dense + "\n\nThank you for bringing"))
    (flag,) = outcome.tone_flags(letter)
    assert flag.code == "hard_to_read" and not flag.is_blocking
    assert "aim at grade 8 or below" in flag.message
    outcome.approve_letter(staff, letter)
    assert letter.status == "approved" and letter.tone_override_reason == ""
    assert [f["code"] for f in letter.tone_flags] == ["hard_to_read"]


@pytest.mark.parametrize(
    ("text", "easy"),
    [
        ("I'm sorry for the trouble. We will fix the door this week. Thank you for telling us.", True),
        ("The team looked at your photos and our notes. They think the charge is fair.", True),
        ("Subsequent to comprehensive consideration of the documentation, the organisation determined that "
         "the administrative expenditure was appropriately attributable to the tenancy.", False),
    ],
)
def test_the_reading_grade(text, easy):
    assert (reading_grade(text) <= 8) == easy


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("Your request is denied.", "flat_refusal"),
        ("No. We will not refund the deposit.", "flat_refusal"),
        ("Per the lease, this was your responsibility.", "lecturing"),
        ("I am sorry that you are upset.", "non_apology"),
        ("We regret any inconvenience.", "hollow_apology"),
    ],
)
def test_what_hurts_needs_a_reason_to_approve_and_the_history_keeps_it(make_dispute, staff, phrase, code):
    dispute, letter = drafted(make_dispute, staff, "uphold")
    outcome.edit_letter(staff, letter, body_text=letter.body_text.replace("Thank you for bringing",
                                                                         phrase + " Thank you for bringing"))
    error = refused(outcome.ToneCheckFailed, dispute, lambda: outcome.approve_letter(staff, letter))
    assert [flag.code for flag in error.flags] == [code]
    assert "A kinder way to say it: “" in error.message
    assert letter.status == "draft"
    outcome.approve_letter(staff, letter, override_reason="The resident asked for a plain answer.")
    approved = [e for e in history(dispute) if e.action == "letter_approved"][-1]
    assert approved.reason == "Approved despite the tone check: The resident asked for a plain answer."
    assert approved.data["tone_flags"] == [code] and approved.data["sent_anyway"] is True


def test_a_hollow_apology_alone_leaves_the_letter_without_one(make_dispute, staff):
    dispute, letter = drafted(make_dispute, staff, "resident")
    body = letter.body_text
    for sorry in ("I'm sorry you have had this trouble with", "I'm sorry for that.", "I'm sorry for our part in it."):
        body = body.replace(sorry, "We regret any inconvenience with" if "trouble" in sorry else "")
    assert "sorry" not in body.lower()
    outcome.edit_letter(staff, letter, body_text=body)
    assert codes(letter) == ["hollow_apology", "missing_apology"]


def test_the_managers_page_shows_a_kinder_way_and_asks_a_reason_only_for_what_blocks(app, signed_in_client,
                                                                                       manager, make_dispute):
    from resolver.models import Letter

    from .test_manager_panel_letter import act, page_of

    dispute = make_dispute("outcome_draft")
    db.session.commit()
    letter = db.session.query(Letter).filter_by(dispute_id=dispute.id).one()
    staff = signed_in_client(manager)
    form = {"letter_id": str(letter.id), "subject": letter.subject, "token_kind": letter.token_kind,
            "token": "25", "concession": ""}
    original = letter.body_text
    body = original.replace("Thank you for bringing", "Your request is denied. Thank you for bringing")
    assert act(staff, dispute, "edit_letter", body_text=body, **form).status_code == 303
    html = page_of(staff, dispute)
    assert "“Your request is denied”: A flat “no” closes the door." in html.replace("&#34;", '"')
    assert "A kinder way to say it: “I&#39;m sorry, but after this review the charge stays." in html
    assert "approve anyway because" in html

    dense = 6 * ("Notwithstanding the considerable documentation accompanying your communication, the "
                 "organisation's comprehensive evaluation determined that reimbursement is appropriate. ")
    body = original.replace("Thank you for bringing", dense + "\n\nThank you for bringing")
    assert act(staff, dispute, "edit_letter", body_text=body, **form).status_code == 303
    html = page_of(staff, dispute)
    assert [f["code"] for f in db.session.get(Letter, letter.id).tone_flags] == ["hard_to_read"]
    assert "Advice: This reads at school grade" in html and "approve anyway because" not in html
    assert act(staff, dispute, "approve_letter", letter_id=str(letter.id)).status_code == 303
    assert db.session.get(Letter, letter.id).status == "approved"


def test_a_gap_the_draft_left_blocks_approval_until_it_is_filled_in(make_dispute, staff):
    items = [{"description": "Carpet cleaning", "amount_cents": 15000}]
    dispute, letter = drafted(make_dispute, staff, "compromise", items=items)
    assert "[amount to fill in]" in letter.body_text  # the team met the resident partway without an amount
    error = refused(outcome.ToneCheckFailed, dispute, lambda: outcome.approve_letter(staff, letter))
    assert [flag.code for flag in error.flags] == ["gap_to_fill"] and "[amount to fill in]" in error.message
    filled = letter.body_text.replace("take [amount to fill in] off", "take $60 off").replace(
        "owe [amount to fill in]", "owe $90")
    outcome.edit_letter(staff, letter, body_text=filled)
    outcome.approve_letter(staff, letter)
    assert letter.status == "approved"
