"""The resident's outcome page behind /r/o/<token>: opening it changes nothing; its buttons do."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.links import PUBLIC_ADDRESS, current_link, link_url, revoke_links
from resolver.models import LinkUse
from resolver.services import outcome

from .dispute_checks import emails, snapshot


@pytest.fixture
def sent(make_dispute):
    dispute = make_dispute("outcome_sent", votes=("uphold", "compromise", "compromise"))
    db.session.commit()
    return dispute


def path_of(dispute) -> str:
    url = link_url(current_link(dispute.id, "outcome", resident_id=dispute.resident_id))
    return url.removeprefix(PUBLIC_ADDRESS)


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def uses() -> int:
    return db.session.scalar(select(func.count()).select_from(LinkUse))


def test_the_email_link_opens_the_letter_and_changes_nothing_but_the_link_log(client, sent):
    before = snapshot(sent.id)
    logged = uses()
    for method in (client.get, client.head):
        response = method(path_of(sent))
        assert response.status_code == 200
    page = client.get(path_of(sent)).get_data(as_text=True)
    assert snapshot(sent.id) == before
    assert uses() == logged + 3
    assert "This page is for <strong>Tammy Rivera</strong>" in page
    assert "Yes, I received this letter" in page
    assert "Accept the offer" in page and "No, thank you" in page
    # How to take it to outside mediation is shown; only the resident saying they have gone records it.
    assert "Front Range Tenant-Landlord Mediation" in page and "I have contacted" in page
    assert "The carpet was clean when I left; I have photos." in page  # the letter itself
    assert "Download the letter (PDF)" in page


def test_the_pdf_can_be_downloaded_through_the_link(client, sent):
    response = client.get(path_of(sent) + "/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"resolver-letter-{sent.id}.pdf" in response.headers["Content-Disposition"]
    response.close()


def test_confirming_and_accepting_are_posts_from_the_page(client, sent):
    token_page = client.get(path_of(sent)).get_data(as_text=True)
    response = client.post(path_of(sent) + "/receipt", data={"csrf_token": csrf_from(token_page)})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for letting us know the letter arrived." in page
    assert "You confirmed you received it on Monday 9 March 2026." in page
    db.session.expire_all()
    assert sent.state == "acknowledged"

    response = client.post(path_of(sent) + "/offer", data={"csrf_token": csrf_from(page), "answer": "accept"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You accepted this offer on Monday 9 March 2026." in page
    assert "will do this for you by Saturday 14 March 2026 and let you know when it is done:" in page
    assert "<li>a $25 coffee-shop gift card</li>" in page
    db.session.expire_all()
    assert outcome.sent_letter(sent).offer_response == "accepted"
    assert [t.kind for t in outcome.open_tasks(sent)] == ["fulfil_offer"]


def test_a_post_without_the_pages_security_token_changes_nothing(client, sent):
    before = snapshot(sent.id)
    response = client.post(path_of(sent) + "/receipt")
    assert response.status_code == 400
    assert snapshot(sent.id) == before


def test_declining_on_the_page_is_only_declining(client, sent, manager):
    page = client.get(path_of(sent)).get_data(as_text=True)
    response = client.post(path_of(sent) + "/offer", data={"csrf_token": csrf_from(page), "answer": "decline"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Our decision stands, and Morgan Manager has been told." in page
    assert "You said no, thank you, to this offer on Monday 9 March 2026." in page
    assert "Yes, I received this letter" in page  # receipt is still the resident's to confirm
    assert "I have contacted Front Range Tenant-Landlord Mediation" in page  # shown how, not recorded
    db.session.expire_all()
    assert sent.state == "outcome_sent" and sent.acknowledged_dt is None and sent.referred_dt is None
    assert emails(sent, "referral_resident") == [] and len(emails(sent, "offer_declined")) == 1


def test_accepting_on_the_page_does_not_confirm_receipt(client, sent):
    page = client.get(path_of(sent)).get_data(as_text=True)
    response = client.post(path_of(sent) + "/offer", data={"csrf_token": csrf_from(page), "answer": "accept"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You accepted this offer on Monday 9 March 2026." in page
    assert "Yes, I received this letter" in page
    assert "I have contacted" not in page  # after accepting there is nothing to take outside
    db.session.expire_all()
    assert sent.state == "outcome_sent" and sent.acknowledged_dt is None


@pytest.mark.parametrize("first, second", [("accept", "accept"), ("accept", "decline"), ("decline", "accept")])
def test_a_second_answer_gets_a_plain_page_saying_what_was_recorded(client, sent, first, second):
    page = client.get(path_of(sent)).get_data(as_text=True)
    token = csrf_from(page)
    assert client.post(path_of(sent) + "/offer", data={"csrf_token": token, "answer": first}).status_code == 303
    before = snapshot(sent.id)
    response = client.post(path_of(sent) + "/offer", data={"csrf_token": token, "answer": second})  # a double tap
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    said = "accepted this offer" if first == "accept" else "said no, thank you, to this offer"
    assert f"Your answer is already recorded: you {said} on Monday 9 March 2026. Nothing was changed." in text
    assert 'role="alert"' not in text  # not an error
    assert snapshot(sent.id) == before


def test_going_to_mediation_is_recorded_when_the_resident_says_they_have(client, sent):
    page = client.get(path_of(sent)).get_data(as_text=True)
    assert "mediation.test, 303-555-0150" in page  # how to reach them, before anything is recorded
    response = client.post(path_of(sent) + "/mediation", data={"csrf_token": csrf_from(page)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for letting us know you have gone to outside mediation." in page
    assert "You told us you have taken this to <strong>Front Range Tenant-Landlord Mediation</strong>" in page
    db.session.expire_all()
    assert sent.state == "referred" and sent.acknowledged_dt is None
    assert outcome.sent_letter(sent).offer_response is None  # going outside is not an answer to the offer
    (to_resident,) = emails(sent, "referral_resident")
    assert "Thank you for letting us know that you have taken this to outside mediation." in to_resident.body_text
    assert "We have noted that you have gone to them" in to_resident.body_text


def test_a_late_acceptance_is_refused_on_the_page_with_who_to_talk_to(client, sent):
    letter = outcome.sent_letter(sent)
    page = client.get(path_of(sent)).get_data(as_text=True)
    clock.advance(letter.offer_expires_dt - clock.now_utc() + timedelta(minutes=1))
    before = snapshot(sent.id)
    response = client.post(path_of(sent) + "/offer", data={"csrf_token": csrf_from(page), "answer": "accept"})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "This offer was open until Wednesday 8 April 2026" in text and "Nothing was changed." in text
    assert snapshot(sent.id) == before
    page = client.get(path_of(sent)).get_data(as_text=True)
    assert "Accept the offer" not in page
    assert "This offer was open until Wednesday 8 April 2026" in page
    assert "I have contacted Front Range Tenant-Landlord Mediation" in page


@pytest.mark.parametrize("answer", [{"answer": "maybe"}, {"answer": ""}, {}])
def test_an_unknown_answer_is_refused(client, sent, answer):
    page = client.get(path_of(sent)).get_data(as_text=True)
    before = snapshot(sent.id)
    response = client.post(path_of(sent) + "/offer", data={"csrf_token": csrf_from(page), **answer})
    assert response.status_code == 422
    assert "Please choose one of the two buttons." in response.get_data(as_text=True)
    assert "Nothing was changed." in response.get_data(as_text=True)
    assert snapshot(sent.id) == before


def test_a_tampered_or_withdrawn_link_is_refused_politely(client, sent):
    path = path_of(sent)
    assert client.get(path[:-3] + "xyz").status_code == 404
    revoke_links(sent.id, "outcome", clock.now_utc(), "testing")
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "This link is no longer active" in response.get_data(as_text=True)


def test_an_evidence_link_does_not_open_the_outcome_page(client, sent):
    evidence = link_url(current_link(sent.id, "evidence", resident_id=sent.resident_id))
    token = evidence.rsplit("/", 1)[1]
    response = client.get(f"/r/o/{token}")
    assert response.status_code == 403
    assert "This link is for something else" in response.get_data(as_text=True)


def test_the_resident_without_an_offer_can_say_they_still_disagree(client, make_dispute, manager):
    dispute = make_dispute("outcome_draft")
    staff = Actor.staff(manager)
    letter = outcome.current_letter(dispute)
    outcome.edit_letter(staff, letter, token_cents=0, concession_cents=0)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    page = client.get(path_of(dispute)).get_data(as_text=True)
    assert "Our offer to you" not in page and "Accept the offer" not in page
    response = client.post(path_of(dispute) + "/mediation", data={"csrf_token": csrf_from(page)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Outside mediation" in page and "Front Range Tenant-Landlord Mediation" in page
    db.session.expire_all()
    assert dispute.state == "referred"


def test_after_confirming_a_granted_decision_the_page_says_by_when_it_is_done(client, make_dispute, manager):
    dispute = make_dispute("decided", votes=("resident", "resident", "resident"))
    staff = Actor.staff(manager)
    letter = outcome.draft_outcome(staff, dispute)
    outcome.edit_letter(staff, letter, token_cents=0, concession_cents=0)
    outcome.approve_letter(staff, letter)
    outcome.send_outcome(staff, dispute)
    db.session.commit()
    page = client.get(path_of(dispute)).get_data(as_text=True)
    response = client.post(path_of(dispute) + "/receipt", data={"csrf_token": csrf_from(page)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You confirmed you received it on Monday 9 March 2026." in page
    # What will be done is named, with its amount (what the resident asked for, quoted as theirs).
    assert "Morgan Manager will do this for you by Saturday 14 March 2026 and will let you know when it is done:" \
           in page
    assert "<li>what you asked us to do ($150): “Refund the $150 cleaning charge.”</li>" in page
    assert "as the letter says" not in page


def test_the_outcome_link_answers_at_most_ten_times_an_hour_then_says_when_it_can_again(client, sent, frozen_clock):
    """Each answer through the letter's link may email the manager; a flood of them is stopped kindly."""
    page = client.get(path_of(sent)).get_data(as_text=True)
    for _ in range(10):
        assert client.post(path_of(sent) + "/receipt", data={"csrf_token": csrf_from(page)}).status_code < 400
    queued = len(emails(sent))
    refused = client.post(path_of(sent) + "/receipt", data={"csrf_token": csrf_from(page)})
    shown = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Please wait a little before sending again" in shown
    assert f'href="{path_of(sent)}"' in shown  # back to their own letter's page
    assert len(emails(sent)) == queued
    frozen_clock.advance(timedelta(hours=1, minutes=1))
    assert client.post(path_of(sent) + "/receipt", data={"csrf_token": csrf_from(page)}).status_code < 400
