"""From the dispute page: choosing and sending the team, deciding a split vote, and the letter from
draft to the resident's inbox."""
from __future__ import annotations

import re

from resolver.actors import Actor
from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, Letter, PanelSeat
from resolver.services import panel

from .conftest import Inbox
from .dispute_checks import templates
from .test_manager_dispute import action_names, version_in


def page_of(staff, dispute):
    return staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)


def act(staff, dispute, name, **form):
    html = page_of(staff, dispute)
    assert name in action_names(html), f"{name} is not offered: {sorted(action_names(html))}"
    return staff.post(f"/disputes/{dispute.id}/actions/{name}", {"expected_version": version_in(html), **form})


def test_choosing_the_team_and_sending_the_case(app, signed_in_client, manager, company, make_dispute, make_panel,
                                                smtp):
    dispute = make_dispute("evidence_received")
    members = make_panel(company, size=4)
    db.session.commit()
    staff = signed_in_client(manager)
    html = page_of(staff, dispute)
    assert action_names(html) >= {"seat_panel", "withdraw", "extend"} and "send_to_panel" not in action_names(html)
    # The proposal of the company's size (3) is ticked already.
    assert len(re.findall(r'name="member_ids" value="\d+" checked', html)) == 3

    response = act(staff, dispute, "seat_panel", member_ids=[str(m.id) for m in members[:2]])
    assert response.status_code == 422 and "Choose an odd number of members" in response.get_data(as_text=True)
    response = act(staff, dispute, "seat_panel", member_ids=[str(m.id) for m in members[:3]])
    assert response.status_code == 303
    response = act(staff, dispute, "send_to_panel")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "panel_review"
    html = page_of(staff, dispute)
    assert "0 of 3 voted" in html and "The case went to the resolution team" in html
    assert "Morgan Manager chose the resolution team." in html and "Morgan Manager sent the case to the resolution team." in html
    send_pending()
    assert all(smtp.to(m.email) for m in members[:3]) and not smtp.to(members[3].email)


def test_the_manager_decides_a_split_team(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("deadlocked", votes=("uphold", "resident", "compromise"))
    db.session.commit()
    staff = signed_in_client(manager)
    assert "The team is split" in page_of(staff, dispute)
    response = act(staff, dispute, "decide_deadlock", decision="", note="")
    assert response.status_code == 422 and "Choose the decision" in response.get_data(as_text=True)
    response = act(staff, dispute, "decide_deadlock", decision="compromise",
                   note="Half the cleaning charge: the photos show some wear, not damage.")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).decision == "compromise"


def test_the_letter_from_draft_to_the_residents_inbox(app, signed_in_client, manager, make_dispute, resident, smtp):
    dispute = make_dispute("decided")
    db.session.commit()
    staff = signed_in_client(manager)
    assert act(staff, dispute, "draft_outcome").status_code == 303
    letter = db.session.query(Letter).filter_by(dispute_id=dispute.id).one()
    html = page_of(staff, dispute)
    assert action_names(html) >= {"edit_letter", "approve_letter"} and "send_outcome" not in action_names(html)

    # A bad amount is refused and changes nothing.
    response = act(staff, dispute, "edit_letter", letter_id=str(letter.id), subject=letter.subject,
                   body_text=letter.body_text, token_kind="coffee card", token="12.345", concession="")
    assert response.status_code == 422 and "should be written like 150" in response.get_data(as_text=True)
    assert 'name="token" value="12.345"' in response.get_data(as_text=True)  # shown as typed, to correct
    assert 'value="coffee card"' in response.get_data(as_text=True)
    # A phrase the tone check flags must be approved with a reason.
    body = letter.body_text + "\n\nI'm sorry you feel that way."
    assert act(staff, dispute, "edit_letter", letter_id=str(letter.id), subject=letter.subject, body_text=body,
               token_kind="coffee card", token="20", concession="").status_code == 303
    html = page_of(staff, dispute)
    assert "Tone check" in html and "sorry you feel that way" in html.lower()
    response = act(staff, dispute, "approve_letter", letter_id=str(letter.id), override_reason="")
    assert response.status_code in (409, 422) and "Nothing was changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).status == "draft"
    assert act(staff, dispute, "edit_letter", letter_id=str(letter.id), subject=letter.subject,
               body_text=body.replace("\n\nI'm sorry you feel that way.", ""), token_kind="coffee card", token="20",
               concession="").status_code == 303
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).tone_flags == []
    html = page_of(staff, dispute)
    assert "Tone check" not in html
    preview = html.split('<details class="letter-draft-preview">')[1].split("</details>")[0]
    assert "Our offer to you" in preview and "a $20 coffee card" in preview
    assert "If you would like someone else to look at this" in preview
    assert act(staff, dispute, "approve_letter", letter_id=str(letter.id)).status_code == 303
    assert act(staff, dispute, "send_outcome").status_code == 303

    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "outcome_sent"
    html = page_of(staff, dispute)
    assert "Download the PDF" in html and "Morgan Manager sent the outcome letter." in html
    assert "Morgan Manager approved the letter." in html and "Morgan Manager edited the letter." in html
    pdf = re.search(r'href="(/disputes/\d+/letters/\d+\.pdf)"', html).group(1)
    assert staff.get(pdf).data.startswith(b"%PDF")
    send_pending()
    letter_mail = smtp.to(resident.email)[-1]
    assert "$20" in Inbox.text_of(letter_mail)
    assert any(part.get_content_type() == "application/pdf" for part in letter_mail.iter_attachments())


def test_seating_another_companys_roster_member_is_refused(
    app, signed_in_client, manager, make_dispute, make_company, make_panel
):
    dispute = make_dispute("evidence_received")
    strangers = make_panel(make_company(), size=3)
    db.session.commit()
    staff = signed_in_client(manager)
    response = act(staff, dispute, "seat_panel", member_ids=[str(m.id) for m in strangers])
    assert response.status_code == 422
    assert "not on this company&#39;s roster" in response.get_data(as_text=True)
    assert db.session.query(PanelSeat).filter_by(dispute_id=dispute.id).count() == 0


def test_votes_stay_private_while_the_team_reviews(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("panel_review")
    seat = db.session.query(PanelSeat).filter_by(dispute_id=dispute.id).first()
    panel.record_vote(Actor.panel(seat.member), seat, choice="resident", reason="The photos are convincing to me.")
    db.session.commit()
    html = page_of(signed_in_client(manager), dispute)
    assert "1 of 3 voted" in html and "A team member voted." in html
    assert "The photos are convincing to me." not in html and "grant the resident" not in html


def test_a_task_done_from_the_page_closes_the_dispute(app, signed_in_client, manager, make_dispute):
    from resolver.services import outcome

    dispute = make_dispute("outcome_sent")
    assert outcome.sent_letter(dispute).has_offer  # the team recommended a token
    outcome.respond_to_offer(Actor.resident(dispute.resident), dispute, accept=True)
    db.session.commit()
    staff = signed_in_client(manager)
    row = staff.get("/").get_data(as_text=True).split(f'<tr data-dispute="{dispute.id}"')[1].split("</tr>")[0]
    assert "To do:" in row
    html = page_of(staff, dispute)
    task_id = re.search(r'name="task_id" value="(\d+)"', html).group(1)
    response = act(staff, dispute, "complete_task", task_id=task_id)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "closed"
    assert "finished a task" in page_of(staff, dispute)


def test_referring_out_and_closing(app, signed_in_client, manager, make_dispute):
    sent = make_dispute("outcome_sent")
    lapsed = make_dispute("lapsed")
    db.session.commit()
    staff = signed_in_client(manager)
    response = act(staff, sent, "refer_out", reason="The resident asked for mediation.")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, sent.id).state == "referred"
    assert act(staff, lapsed, "close", reason="No reply; nothing more to do.").status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, lapsed.id).state == "closed"
    assert "Morgan Manager closed the dispute." in page_of(staff, lapsed)


def test_what_the_resident_wrote_is_shown_as_text_never_as_markup(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("decided", issue="<script>alert('x')</script> the charge <b>is</b> unfair")
    db.session.commit()
    staff = signed_in_client(manager)
    assert act(staff, dispute, "draft_outcome").status_code == 303
    html = page_of(staff, dispute)
    assert "<script>alert" not in html and "<b>is</b>" not in html
    assert "&lt;script&gt;" in html


def test_a_sent_letter_is_corrected_with_a_new_version(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("outcome_sent")
    db.session.commit()
    staff = signed_in_client(manager)
    assert act(staff, dispute, "correct_letter").status_code == 303
    letters = db.session.query(Letter).filter_by(dispute_id=dispute.id).order_by(Letter.version).all()
    assert [(x.version, x.status) for x in letters] == [(1, "sent"), (2, "draft")]
    assert letters[1].corrects_letter_id == letters[0].id
    html = page_of(staff, dispute)
    assert "Version 2 · draft" in html and "Version 1 · sent" in html
    assert {"edit_letter", "approve_letter"} <= action_names(html) and "correct_letter" not in action_names(html)


def test_a_tone_flag_can_be_approved_with_a_reason_which_the_history_keeps(app, signed_in_client, manager,
                                                                          make_dispute):
    dispute = make_dispute("outcome_draft")
    db.session.commit()
    letter = db.session.query(Letter).filter_by(dispute_id=dispute.id).one()
    staff = signed_in_client(manager)
    body = letter.body_text.replace("Thank you for bringing this to us", "As I already told you, thank you for "
                                    "bringing this to us")
    assert act(staff, dispute, "edit_letter", letter_id=str(letter.id), subject=letter.subject, body_text=body,
               token_kind=letter.token_kind, token="25", concession="").status_code == 303
    assert "The tone check flagged phrases; approve anyway because" in page_of(staff, dispute)
    assert act(staff, dispute, "approve_letter", letter_id=str(letter.id),
               override_reason="The resident asked us to repeat our earlier answer word for word.").status_code == 303
    html = page_of(staff, dispute)
    assert "Morgan Manager approved the letter." in html
    assert "Approved despite the tone check: The resident asked us to repeat our earlier answer word for word." in html


def test_when_the_pdf_cannot_be_made_the_page_says_nothing_was_sent(app, signed_in_client, manager, make_dispute,
                                                                   monkeypatch):
    import weasyprint

    from resolver.services import outcome

    dispute = make_dispute("outcome_draft")
    outcome.approve_letter(Actor.staff(manager), outcome.current_letter(dispute))
    db.session.commit()
    staff = signed_in_client(manager)

    def broken(self, *args, **kwargs):
        raise RuntimeError("the layout engine gave up")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    response = act(staff, dispute, "send_outcome")
    assert response.status_code == 500
    assert "could not be turned into a PDF, so nothing was sent" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "outcome_draft"
    assert outcome.current_letter(db.session.get(Dispute, dispute.id)).status == "approved"
    assert "outcome_letter" not in templates(dispute)


def test_the_follow_up_task_offers_its_calendar_reminder_to_the_company_only(app, signed_in_client, manager,
                                                                           make_dispute, make_company, make_staff):
    from resolver import clock
    from resolver.deadlines import sweep_deadlines

    dispute = make_dispute("outcome_sent")
    db.session.commit()
    clock.advance(dispute.follow_up_due_dt - clock.now_utc())
    sweep_deadlines()
    staff = signed_in_client(manager)
    html = page_of(staff, dispute)
    assert "Check that Tammy Rivera received the written outcome" in html
    ics = re.search(r'href="(/disputes/\d+/tasks/\d+\.ics)"', html).group(1)
    response = staff.get(ics)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.data.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VALARM" in response.data
    stranger = signed_in_client(make_staff(make_company(), "manager"))
    assert stranger.get(ics).status_code == 404


def test_a_letter_action_from_a_stale_page_is_refused_by_its_verb(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("decided")
    db.session.commit()
    staff = signed_in_client(manager)
    assert act(staff, dispute, "draft_outcome").status_code == 303
    letter = db.session.query(Letter).filter_by(dispute_id=dispute.id).one()
    html = page_of(staff, dispute)
    old_version = version_in(html)
    # Someone else approves the letter meanwhile (the dispute's version moves on).
    assert act(staff, dispute, "approve_letter", letter_id=str(letter.id),
               override_reason="Read it twice.").status_code == 303
    response = staff.post(f"/disputes/{dispute.id}/actions/edit_letter",
                          {"expected_version": old_version, "letter_id": str(letter.id), "subject": "Changed",
                           "body_text": letter.body_text, "token_kind": "", "token": "", "concession": ""})
    assert response.status_code == 409
    assert "This dispute changed while you were looking at it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).subject != "Changed"
    assert db.session.get(Letter, letter.id).status == "approved"
