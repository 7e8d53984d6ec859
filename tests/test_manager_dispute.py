"""The dispute page: history in words, deadlines, both sides, evidence for staff only, the workflow,
and only the actions allowed now, each refusing a stale form."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.models import AuditEvent, Dispute, EvidenceFile, ExtensionRequest
from resolver.services import disputes, evidence

from .conftest import Inbox

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDAT\x08\xd7c\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\x18\xdd\x8d\xb0\x00\x00\x00\x00IEND\xaeB`\x82")


def action_names(html: str) -> set[str]:
    return set(re.findall(r'action="/disputes/\d+/actions/([a-z_]+)"', html))


def version_in(html: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', html).group(1)


@pytest.fixture
def with_evidence(app, make_dispute, resident):
    """A dispute whose resident sent a photo and a PDF."""

    def make():
        dispute = make_dispute("awaiting_evidence")
        photo, pdf = store_bytes(PNG), store_bytes(b"%PDF-1.4 the lease addendum")
        evidence.submit_evidence(
            Actor.resident(resident), dispute, form_key=uuid.uuid4().hex,
            details="The carpet was clean when I left.", suggested_resolution="Refund the cleaning charge.",
            suggested_amount_cents=15000,
            files=[
                {"original_name": "bedroom.png", "content_type": "image/png", "size_bytes": len(PNG), "sha256": photo},
                {"original_name": "addendum.pdf", "content_type": "application/pdf", "size_bytes": 27, "sha256": pdf},
            ],
        )
        db.session.commit()
        return dispute

    return make


def test_the_page_shows_history_deadlines_both_sides_and_the_workflow(app, signed_in_client, manager, with_evidence):
    dispute = with_evidence()
    html = signed_in_client(manager).get(f"/disputes/{dispute.id}").get_data(as_text=True)

    assert "Morgan Manager wrote up the dispute" in html
    assert "Morgan Manager sent the resident the invitation to give their side." in html
    assert "Tammy Rivera sent their side with 2 files." in html
    assert "Written reply to the resident" in html and "11:59 PM on Monday 16 March 2026" in html
    assert "due in 8 days" in html  # 7 days and 14 hours: the end of the 7th day in Denver
    assert "The carpet was clean when I left." in html and "Refund the cleaning charge." in html and "$150" in html
    assert "The carpet needed professional cleaning." in html  # the company's side
    assert re.search(r'<img src="/disputes/\d+/files/\d+" alt="bedroom.png"', html)
    assert "Download addendum.pdf" in html
    # The diagram: the current state is drawn highlighted.
    assert '<svg' in html and 'class="wf-state wf-current" data-state="evidence_received"' in html


def test_the_page_says_whether_each_email_went(app, signed_in_client, manager, make_dispute, smtp):
    from resolver.mail import send_pending

    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    emails = html.split('id="emails-h"')[1].split("</section>")[0]
    assert "waiting to be sent" in emails and dispute.resident.email in emails
    send_pending()
    emails = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True).split('id="emails-h"')[1]
    assert "sent 10:00 AM on Monday 9 March 2026" in emails


def test_the_page_says_whether_the_resident_opened_their_link(app, signed_in_client, manager, make_dispute, client):
    from resolver.links import current_link, token_for

    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    assert "The resident has not opened their link yet." in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    link = current_link(dispute.id, "evidence", resident_id=dispute.resident_id)
    client.get(f"/r/e/{token_for(link)}")
    client.get(f"/r/e/{token_for(link)}")
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "The resident opened their link 2 times, last at 10:00 AM on Monday 9 March 2026" in html


def test_only_the_actions_allowed_now_are_offered(app, signed_in_client, manager, make_dispute):
    draft = make_dispute("draft")
    waiting = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    assert action_names(staff.get(f"/disputes/{draft.id}").get_data(as_text=True)) == {"open", "withdraw"}
    assert action_names(staff.get(f"/disputes/{waiting.id}").get_data(as_text=True)) == {"extend", "withdraw"}


def test_sending_the_invitation_from_a_draft(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("draft")
    db.session.commit()
    staff = signed_in_client(manager)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    response = staff.post(f"/disputes/{dispute.id}/actions/open", {"expected_version": version_in(html)})
    assert response.status_code == 303
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence"
    assert "The invitation is on its way to Tammy Rivera" in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)


def test_a_stale_form_is_told_the_dispute_changed_and_nothing_happens(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("draft")
    db.session.commit()
    staff = signed_in_client(manager)
    old_version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    disputes.open_dispute(Actor.staff(manager), dispute)  # someone else opened it meanwhile
    db.session.commit()
    events = db.session.scalar(select(func.count(AuditEvent.id)))

    response = staff.post(f"/disputes/{dispute.id}/actions/withdraw",
                          {"expected_version": old_version, "reason": "Settled."})

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This dispute changed while you were looking at it" in html and "Nothing was changed" in html
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_an_action_not_allowed_now_is_refused(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    response = staff.post(f"/disputes/{dispute.id}/actions/close", {"expected_version": version})
    assert response.status_code == 409
    assert "is not possible for a dispute that is waiting for the resident" in response.get_data(as_text=True)
    assert staff.post(f"/disputes/{dispute.id}/actions/explode", {"expected_version": version}).status_code == 404
    assert staff.post(f"/disputes/{dispute.id}/actions/close", {}).status_code == 422  # no version at all
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "awaiting_evidence"


def test_extending_the_residents_deadline_with_a_reason(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    page = lambda: staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)  # noqa: E731
    version = version_in(page())
    refusals = [
        ({"new_due": "2026-03-20", "reason": ""}, 422, "Say why the deadline moves"),
        ({"new_due": "20/03/2026", "reason": "Away"}, 422, "Pick a date"),
        ({"new_due": "2026-03-01", "reason": "Away"}, 422, "must be in the future"),
        ({"new_due": "2026-03-12", "reason": "Away"}, 422, "must move the deadline later"),
        ({"window": "panel", "new_due": "2026-03-20", "reason": "Away"}, 422, "running now"),
    ]
    for change, status, message in refusals:
        response = staff.post(f"/disputes/{dispute.id}/actions/extend",
                              {"expected_version": version, "window": "evidence", **change})
        assert response.status_code == status, change
        assert message in response.get_data(as_text=True), change
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).evidence_due_dt < clock.now_utc() + timedelta(days=6)

    response = staff.post(f"/disputes/{dispute.id}/actions/extend", {
        "expected_version": version, "window": "evidence", "new_due": "2026-03-20",
        "reason": "The resident is travelling for work.",
    })
    assert response.status_code == 303
    html = page()
    assert "11:59 PM on Friday 20 March 2026" in html
    assert "Morgan Manager moved the resident&#39;s deadline from 11:59 PM on Saturday 14 March 2026" in html
    assert "The resident is travelling for work." in html


def test_withdrawing_a_draft(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("draft")
    db.session.commit()
    staff = signed_in_client(manager)
    version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    response = staff.post(f"/disputes/{dispute.id}/actions/withdraw", {"expected_version": version, "reason": ""})
    assert response.status_code == 422 and "Say why the dispute is withdrawn" in response.get_data(as_text=True)
    response = staff.post(f"/disputes/{dispute.id}/actions/withdraw",
                          {"expected_version": version, "reason": "Opened by mistake."})
    assert response.status_code == 303
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "Morgan Manager withdrew the dispute." in html and "Opened by mistake." in html
    assert action_names(html) == set()


def test_answering_a_request_for_more_time(app, signed_in_client, manager, make_dispute):
    dispute = make_dispute("awaiting_evidence")
    request = ExtensionRequest(dispute_id=dispute.id, days_asked=3, reason="I am in hospital this week.")
    db.session.add(request)
    db.session.commit()
    staff = signed_in_client(manager)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "The resident asks for 3 more days" in html and "I am in hospital this week." in html
    assert "answer_more_time" in action_names(html)
    response = staff.post(f"/disputes/{dispute.id}/actions/answer_more_time", {
        "expected_version": version_in(html), "request_id": str(request.id), "answer": "grant", "note": "",
    })
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ExtensionRequest, request.id).status == "granted"
    assert "11:59 PM on Tuesday 17 March 2026" in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)


def test_evidence_is_served_to_the_companys_staff_and_nobody_else(
    app, signed_in_client, manager, with_evidence, make_company, make_staff, client
):
    dispute = with_evidence()
    photo, document = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    staff = signed_in_client(manager)

    shown = staff.get(f"/disputes/{dispute.id}/files/{photo.id}")
    assert shown.status_code == 200 and shown.data == PNG
    assert shown.mimetype == "image/png" and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in shown.headers["Cache-Control"]
    downloaded = staff.get(f"/disputes/{dispute.id}/files/{document.id}")
    assert downloaded.status_code == 200 and downloaded.data.startswith(b"%PDF")
    assert downloaded.mimetype == "application/octet-stream"
    assert 'attachment; filename=addendum.pdf' in downloaded.headers["Content-Disposition"]

    # Another dispute's id with this file's id: not found.
    other = db.session.get(Dispute, dispute.id)
    assert staff.get(f"/disputes/{other.id + 1000}/files/{photo.id}").status_code == 404
    # Staff of another company: not found, as if it did not exist.
    elsewhere = make_staff(make_company(name="Birch Homes"))
    db.session.commit()
    outsider = signed_in_client(elsewhere)
    assert outsider.get(f"/disputes/{dispute.id}/files/{photo.id}").status_code == 404
    assert outsider.get(f"/disputes/{dispute.id}").status_code == 404
    # Nobody signed in: to the sign-in page.
    assert client.get(f"/disputes/{dispute.id}/files/{photo.id}").status_code == 302
    # The files folder is not under the web root.
    assert client.get(f"/static/../instance/files/{photo.sha256[:2]}/{photo.sha256[2:4]}/{photo.sha256}").status_code == 404


def test_another_companys_dispute_cannot_be_changed(
    app, signed_in_client, make_dispute, make_company, make_staff
):
    dispute = make_dispute("draft")
    elsewhere = make_staff(make_company(name="Birch Homes"))
    db.session.commit()
    outsider = signed_in_client(elsewhere)
    for name in ("open", "withdraw"):
        response = outsider.post(f"/disputes/{dispute.id}/actions/{name}", {"expected_version": "1", "reason": "x"})
        assert response.status_code == 404, name
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "draft"


def test_refusing_more_time_tells_the_resident(app, signed_in_client, manager, make_dispute, smtp):
    from resolver.mail import send_pending

    dispute = make_dispute("awaiting_evidence")
    evidence.request_more_time(Actor.resident(dispute.resident), dispute, days=5, reason="Busy week.")
    db.session.commit()
    send_pending()
    smtp.clear()
    staff = signed_in_client(manager)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    request_id = re.search(r'name="request_id" value="(\d+)"', html).group(1)
    due = dispute.evidence_due_dt
    response = staff.post(f"/disputes/{dispute.id}/actions/answer_more_time", {
        "expected_version": version_in(html), "request_id": request_id, "answer": "refuse",
        "note": "We need to answer within the week.",
    })
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).evidence_due_dt == due
    send_pending()
    [message] = smtp.to(dispute.resident.email)
    assert "We need to answer within the week." in Inbox.text_of(message)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "Morgan Manager said no to more time." in html and "answer_more_time" not in action_names(html)


def test_withdrawing_an_open_dispute_tells_the_resident(app, signed_in_client, manager, make_dispute, smtp):
    from resolver.mail import send_pending

    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    send_pending()
    smtp.clear()
    staff = signed_in_client(manager)
    html = staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    response = staff.post(f"/disputes/{dispute.id}/actions/withdraw",
                          {"expected_version": version_in(html), "reason": "The owner refunded the charge."})
    assert response.status_code == 303
    send_pending()
    assert smtp.to(dispute.resident.email)


def test_every_step_of_the_workflow_reads_as_a_sentence(app, company):
    """The history never falls back to a bare action name: each transition of the workflow, and each
    thing the verbs record beside one, has its plain-words sentence."""
    from resolver.models import AuditEvent as Event
    from resolver.web.manager.timeline import describe
    from resolver.workflow.definition import load_definition

    recorded = {"create", "extend", "ask_more_time", "refuse_more_time", "reply_breached", "seat_panel",
                "replace_seat", "packet_frozen", "vote", "change_vote", "recuse", "letter_edited",
                "letter_approved", "correction_started", "correction_sent", "receipt_confirmed", "offer_accepted",
                "offer_declined", "followed_up", "task_done"}
    for action in set(load_definition("dispute").transitions) | recorded:
        event = Event(action=action, actor_kind="staff", actor_label="Morgan Manager", data={}, from_state="draft",
                      to_state="draft")
        sentence = describe(event, company)
        assert action.replace("_", " ") + "." not in sentence and sentence.endswith("."), (action, sentence)


def test_unknown_ids_are_not_found_with_a_message_and_change_nothing(
    app, signed_in_client, supervisor, make_dispute
):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(supervisor)
    before = (dispute.state, dispute.version)
    version = str(dispute.version)
    answers = {
        ("GET", "/disputes/999999"): "",
        ("GET", "/disputes/99999999999999999999"): "There is no such record.",  # beyond any id column
        ("POST", "/settings/staff/99999999999"): "There is no such record.",
        ("GET", f"/disputes/{dispute.id}/files/999999"): "That file is not part of this dispute.",
        ("GET", f"/disputes/{dispute.id}/letters/999999.pdf"): "That letter has no PDF yet.",
        ("POST", f"/disputes/{dispute.id}/actions/explode"): "There is no action called &#39;explode&#39;.",
        ("POST", "/disputes/999999/actions/withdraw"): "",
        ("POST", "/settings/roster/999999"): "There is no such member on your roster.",
        ("POST", "/settings/staff/999999"): "There is no such person in your company.",
        ("POST", "/settings/api-keys/999999/revoke"): "There is no such key.",
        ("GET", "/reports/nonsense.csv"): "There is no report called",
    }
    for (method, path), message in answers.items():
        response = staff.get(path) if method == "GET" else staff.post(path, {"expected_version": version,
                                                                             "change": "deactivate"})
        assert response.status_code == 404, (path, response.status_code)
        assert message in response.get_data(as_text=True), path
    db.session.expire_all()
    assert (db.session.get(Dispute, dispute.id).state, db.session.get(Dispute, dispute.id).version) == before
    # An id that is not even a number is refused by its form field, with a message.
    response = staff.post(f"/disputes/{dispute.id}/actions/answer_more_time",
                          {"expected_version": version, "request_id": "abc", "answer": "grant"})
    assert response.status_code in (409, 422)


def test_a_stale_form_for_an_action_no_longer_offered_is_told_the_dispute_changed(
    app, signed_in_client, manager, make_dispute
):
    dispute = make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    old_version = version_in(staff.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    disputes.withdraw_dispute(Actor.staff(manager), dispute, reason="Settled with the owner.")
    db.session.commit()
    response = staff.post(f"/disputes/{dispute.id}/actions/withdraw", {"expected_version": old_version,
                                                                       "reason": "Duplicate."})
    assert response.status_code == 409
    assert "This dispute changed while you were looking at it" in response.get_data(as_text=True)
