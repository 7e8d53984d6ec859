"""The vote page through the HTTP stack: what a member reads, what a POST records, what a mail
scanner's GETs and HEADs do not change, and the clear answer to every bad request."""
from __future__ import annotations

import re
import threading
from datetime import timedelta
from html import unescape

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from resolver import clock
from resolver.actors import Actor
from resolver.extensions import db
from resolver.files import store_bytes
from resolver.links import PUBLIC_ADDRESS
from resolver.models import (
    AccessLink, AuditEvent, Dispute, EvidenceFile, LinkUse, OutboxEmail, PanelSeat, Vote, VoteRevision,
)
from resolver.services import panel

from .dispute_checks import emails

REASON = "The move-out photos show a clean carpet; the charge looks hard to justify."
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def sent_case(make_dispute, make_panel, manager):
    """A dispute with a photo in evidence, sent to a team of ``size``; returns (dispute, seats, paths)."""

    def make(size: int = 3, chair: int | None = None, items=None, **settings):
        dispute = make_dispute("evidence_received", items=items)
        for name, value in settings.items():
            setattr(dispute.company, name, value)
        photo = b"\x89PNG\r\n\x1a\n" + b"carpet" * 50
        from resolver.models import Submission

        submission = db.session.scalars(select(Submission).where(Submission.dispute_id == dispute.id)).one()
        db.session.add(EvidenceFile(submission_id=submission.id, dispute_id=dispute.id, original_name="carpet.png",
                                    content_type="image/png", size_bytes=len(photo), sha256=store_bytes(photo)))
        members = make_panel(dispute.company, size=size)
        seats = panel.seat_panel(Actor.staff(manager), dispute, [m.id for m in members],
                                 chair_id=members[chair].id if chair is not None else None)
        panel.send_to_panel(Actor.staff(manager), dispute)
        db.session.commit()
        paths = {}
        for invitation in emails(dispute, "panel_invitation"):
            seat = next(s for s in seats if s.member.email == invitation.to_addr)
            paths[seat.id] = re.search(re.escape(PUBLIC_ADDRESS) + r"(/p/v/\S+)", invitation.body_text).group(1)
        return dispute, seats, [paths[s.id] for s in seats]

    return make


def csrf_of(response) -> str:
    return _CSRF.search(response.get_data(as_text=True)).group(1)


def post_vote(client, path, *, csrf=True, **form):
    data = {"choice": "resident", "reason": REASON, **form}
    if csrf:
        data["csrf_token"] = csrf_of(client.get(path))
    return client.post(path, data=data)


def snapshot(dispute_id: int) -> dict:
    """Everything a GET must not change (link uses are allowed to grow: they are the log)."""
    db.session.expire_all()
    dispute = db.session.get(Dispute, dispute_id)
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return {
        "state": dispute.state, "version": dispute.version, "votes": count(Vote), "revisions": count(VoteRevision),
        "events": count(AuditEvent), "emails": count(OutboxEmail),
        "seats": [(s.id, s.recused_dt) for s in db.session.scalars(select(PanelSeat).order_by(PanelSeat.id))],
        "links": [(link.id, link.revoked_dt)
                  for link in db.session.scalars(select(AccessLink).order_by(AccessLink.id))],
    }


def page_text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


# Reading -----------------------------------------------------------------------------------------

def test_the_page_shows_the_packet_and_whose_link_it_is_but_not_the_residents_contact(client, sent_case,
                                                                                       resident):
    dispute, seats, paths = sent_case()
    response = client.get(paths[0])
    text = page_text(response)
    assert response.status_code == 200
    assert f"Voting as {seats[0].member.name}" in text
    assert "The carpet needed professional cleaning." in text and "Refund the $150 cleaning charge." in text
    assert "carpet.png" in text and panel.current_packet(dispute).content["evidence"][0]["sha256"] in text
    assert f"Resident {resident.initials}" in text
    for private in (resident.name, resident.email, resident.phone):
        assert private not in text
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_page_names_the_kind_of_dispute_as_staff_named_it_not_by_its_key(client, sent_case):
    dispute, _, paths = sent_case()
    assert dispute.category == "deposit"  # opened as "security deposit", kept as the category's key
    heading = re.search(r"<h1>(.*?)</h1>", client.get(paths[0]).get_data(as_text=True)).group(1)
    assert heading == f"Dispute #{dispute.id}: Security deposit deduction"


def test_the_evidence_downloads_through_the_link_and_only_files_in_the_packet(client, sent_case):
    dispute, seats, paths = sent_case()
    file_id = panel.current_packet(dispute).content["evidence"][0]["id"]
    with client.get(f"{paths[0]}/files/{file_id}") as response:
        assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
        assert "attachment" in response.headers["Content-Disposition"]
        assert "carpet.png" in response.headers["Content-Disposition"]
    assert client.get(f"{paths[0]}/files/{file_id + 1000}").status_code == 404


def test_mail_scanners_getting_and_heading_every_link_change_nothing(client, sent_case):
    dispute, seats, paths = sent_case()
    file_id = panel.current_packet(dispute).content["evidence"][0]["id"]
    before = snapshot(dispute.id)
    uses_before = db.session.scalar(select(func.count()).select_from(LinkUse))
    agents = ["Mozilla/5.0 (compatible; Safe Links)", "Mimecast URL Protect", "Proofpoint URL Defense", ""]
    requests = 0
    for path in paths:
        for agent in agents:
            headers = {"User-Agent": agent}
            for url in (path, f"{path}/files/{file_id}", f"{path}/step-aside", f"{path}/decide"):
                for method in (client.get, client.head):
                    with method(url, headers=headers) as response:
                        assert response.status_code in (200, 405)  # the POST-only addresses refuse
                        requests += response.status_code == 200
    assert snapshot(dispute.id) == before
    # Every use of a genuine link on a page is logged, and that is all a GET writes.
    assert db.session.scalar(select(func.count()).select_from(LinkUse)) == uses_before + requests


# Voting ------------------------------------------------------------------------------------------

def test_every_vote_post_logs_its_links_use_once_whatever_becomes_of_the_vote(client, sent_case, monkeypatch):
    dispute, seats, paths = sent_case()

    def uses() -> list[str]:
        db.session.expire_all()
        return db.session.scalars(select(LinkUse.outcome).join(AccessLink, LinkUse.link_id == AccessLink.id)
                                  .where(AccessLink.seat_id == seats[0].id, LinkUse.method == "POST")).all()

    token = csrf_of(client.get(paths[0]))
    assert client.post(paths[0], data={"csrf_token": token, "choice": "resident", "reason": REASON}).status_code == 303
    assert uses() == ["ok"]
    # Refused: no reason given; the form's amount unreadable; the page's security token missing.
    assert client.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": " "}).status_code == 422
    assert client.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": REASON,
                                       "token_amount": "ten dollars"}).status_code == 422
    assert client.post(paths[0], data={"choice": "uphold", "reason": REASON}).status_code == 400
    assert uses() == ["ok"] * 4
    # Resolver fails in the middle of the vote: the vote is not kept, the use is.
    def fail(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(panel.voting, "tally", fail)  # the vote counts through this name
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": REASON}).status_code == 500
    assert uses() == ["ok"] * 5
    db.session.expire_all()
    assert db.session.scalars(select(Vote).where(Vote.seat_id == seats[0].id)).one().choice == "resident"



def test_a_vote_is_recorded_by_a_post_from_the_page_and_can_be_changed(client, sent_case):
    dispute, seats, paths = sent_case()
    response = post_vote(client, paths[0], token_amount="$25", token_kind="coffee-shop gift card",
                         concession_amount="75.50")
    assert response.status_code == 303 and response.headers["Location"].endswith(paths[0])
    page = client.get(paths[0])
    assert "Your vote is recorded" in page_text(page)
    vote = db.session.scalars(select(Vote)).one()
    assert (vote.seat_id, vote.choice, vote.token_cents, vote.concession_cents) == (seats[0].id, "resident",
                                                                                      2500, 7550)
    # The form shows the vote as it stands, ready to change.
    html = page.get_data(as_text=True)
    assert 'value="resident" checked' in html and REASON in unescape(html) and 'value="25"' in html
    assert post_vote(client, paths[0], choice="compromise", reason="Partway.").status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(Vote)).one().revision == 2
    assert db.session.scalar(select(func.count()).select_from(VoteRevision)) == 2


@pytest.mark.parametrize(("form", "message", "field"), [
    ({"reason": "  "}, "Please give your reason", "reason"),
    ({"choice": ""}, "Choose one", "choice"),
    ({"choice": "maybe"}, "Choose one", "choice"),
    ({"token_amount": "60"}, "The token can be at most $50 (the company's limit).", "token_amount"),
    ({"concession_amount": "5000.01"}, "The concession can be at most $500 (the company's limit).",
     "concession_amount"),
    ({"token_amount": "lots"}, "The token should be written like 150 or 150.00 (dollars and cents).", "token_amount"),
    # Amounts in disguise: a sign, an exponent, a number that is not one.
    ({"token_amount": "-5"}, "The token cannot be negative.", "token_amount"),
    ({"concession_amount": "1e9"}, "The concession should be written like 150 or 150.00 (dollars and cents).",
     "concession_amount"),
    ({"concession_amount": "NaN"}, "The concession should be written like 150 or 150.00 (dollars and cents).",
     "concession_amount"),
])
def test_bad_votes_get_a_clear_message_keep_the_text_and_save_nothing(client, sent_case, form, message, field):
    dispute, seats, paths = sent_case()
    before = snapshot(dispute.id)
    response = post_vote(client, paths[0], **{"reason": "My honest view, typed on my phone.", **form})
    text, html = page_text(response), response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was saved." in text and message in text
    if form.get("reason") is None:
        assert "My honest view, typed on my phone." in text
    # The field it is about is marked, says its own message, and the summary leads to it.
    assert re.search(rf'<[^>]* id="{field}"[^>]* aria-invalid="true" aria-describedby="[^"]*{field}-error"', html)
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(escape(message))}', html)
    assert f'<a href="#{field}">' in html
    for name, typed in form.items():
        if name.endswith("_amount"):
            assert f'value="{escape(typed)}"' in html  # shown back as typed, to correct
    assert snapshot(dispute.id) == before


def test_a_vote_with_several_problems_lists_them_all_and_keeps_every_answer(client, sent_case):
    dispute, seats, paths = sent_case()
    before = snapshot(dispute.id)
    response = post_vote(client, paths[0], choice="", reason="Meet them partway.", token_kind="gift card",
                         token_amount="ten", concession_amount="-1")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    for field, message in [("choice", "Choose one"), ("token_amount", "The token should be written like"),
                           ("concession_amount", "The concession cannot be negative.")]:
        assert re.search(rf'<li><a href="#{field}">{re.escape(message)}', html), field
    assert "Meet them partway." in html and 'value="gift card"' in html and 'value="ten"' in html
    assert 'value="-1"' in html
    assert snapshot(dispute.id) == before


def test_item_choices_are_kept_when_a_vote_is_refused_and_a_vote_sent_without_them_is_still_answered(
        client, sent_case):
    dispute, seats, paths = sent_case(items=[
        {"description": "Carpet cleaning", "amount_cents": 15000, "company_reason": "Stains."},
        {"description": "Blind replacement", "amount_cents": 6000, "company_reason": "Two slats broken."},
    ])
    carpet, blinds = (f"item-{item.id}" for item in dispute.items)
    before = snapshot(dispute.id)
    refused = post_vote(client, paths[0], reason=" ", **{carpet: "resident", blinds: "sometimes"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Please give your reason" in html and "Each item&#39;s decision must be uphold, resident or compromise." in html
    assert re.search(rf'<select id="{blinds}" name="{blinds}" aria-invalid="true"', html)
    assert re.search(rf'<select id="{carpet}" name="{carpet}">\s*<option value="" >As my vote above</option>\s*'
                     r'<option value="uphold" >The charge stands</option>\s*<option value="resident" selected>', html)
    # A vote sent without the item selects at all (an old page, a hand-made request): refused clearly, not broken.
    bare = post_vote(client, paths[0], reason=" ")
    assert bare.status_code == 422 and "Please give your reason" in page_text(bare)
    assert snapshot(dispute.id) == before
    assert post_vote(client, paths[0], **{carpet: "compromise"}).status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(Vote)).one().item_choices == {carpet.removeprefix("item-"): "compromise"}


def test_a_refused_step_aside_keeps_the_vote_form_as_the_vote_stands(client, sent_case):
    dispute, seats, paths = sent_case()
    assert post_vote(client, paths[0], token_amount="12.50").status_code == 303
    token = csrf_of(client.get(paths[0]))
    refused = client.post(f"{paths[0]}/step-aside", data={"csrf_token": token, "recusal_reason": "  "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'id="recusal_reason"[^>]* aria-invalid="true"', html)
    assert 'value="resident" checked' in html and 'value="12.50"' in html  # the recorded vote, untouched


def test_a_post_without_the_csrf_token_records_nothing_and_keeps_the_text(client, sent_case):
    dispute, seats, paths = sent_case()
    before = snapshot(dispute.id)
    response = post_vote(client, paths[0], csrf=False, reason="Typed before lunch.")
    assert response.status_code == 400
    assert "Nothing was saved" in page_text(response) and "Typed before lunch." in page_text(response)
    assert snapshot(dispute.id) == before


def test_stepping_aside_without_the_csrf_token_keeps_the_words_and_changes_nothing(client, sent_case):
    dispute, seats, paths = sent_case()
    before = snapshot(dispute.id)
    response = client.post(f"{paths[0]}/step-aside", data={"recusal_reason": "I manage her sister's lease."})
    assert response.status_code == 400
    assert "Nothing was saved." in page_text(response) and "needs to be sent again" in page_text(response)
    assert 'id="recusal_reason" name="recusal_reason" value="I manage her sister&#39;s lease."' in response.get_data(
        as_text=True)
    assert snapshot(dispute.id) == before


def test_a_forwarded_link_says_whose_it_is_and_votes_as_that_member(app, sent_case):
    dispute, seats, paths = sent_case()
    colleague = app.test_client()  # someone the email was forwarded to
    page = colleague.get(paths[1], headers={"User-Agent": "Colleague's laptop"})
    assert f"Voting as {seats[1].member.name}" in page_text(page)
    assert "it was forwarded" in page_text(page)
    post_vote(colleague, paths[1])
    vote = db.session.scalars(select(Vote)).one()
    assert vote.seat_id == seats[1].id


def test_a_member_steps_aside_from_the_page(client, sent_case, manager):
    dispute, seats, paths = sent_case()
    token = csrf_of(client.get(paths[0]))
    refused = client.post(f"{paths[0]}/step-aside", data={"csrf_token": token, "recusal_reason": ""})
    assert refused.status_code == 422 and "why you are stepping aside" in page_text(refused)
    done = client.post(f"{paths[0]}/step-aside", data={"csrf_token": token, "recusal_reason": "I know them."})
    assert done.status_code == 200 and "You have stepped aside" in page_text(done)
    assert emails(dispute, "panel_recusal")[0].to_addr == manager.email
    after = client.get(paths[0])
    assert after.status_code == 410 and "stepped aside" in page_text(after)


def test_the_chair_decides_a_split_from_the_page_and_a_refused_decision_keeps_what_was_chosen(client, sent_case):
    dispute, seats, paths = sent_case(chair=0)
    for path, choice in zip(paths, ("uphold", "resident", "compromise")):
        assert post_vote(client, path, choice=choice).status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "deadlocked"
    page = client.get(paths[0])
    assert "As its chair, please decide below" in page_text(page)
    token, before = csrf_of(page), snapshot(dispute.id)

    refused = client.post(f"{paths[0]}/decide", data={"csrf_token": token, "decision": "compromise", "note": " "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Nothing was saved." in page_text(refused)
    assert "Say why, in a sentence or two" in page_text(refused)
    assert re.search(r'id="note"[^>]* aria-invalid="true" aria-describedby="note-error"', html)
    assert 'name="decision" value="compromise" checked' in html  # the choice made is still made
    refused = client.post(f"{paths[0]}/decide", data={"csrf_token": token, "decision": "maybe", "note": "Halfway."})
    assert refused.status_code == 422 and "Choose the decision." in page_text(refused)
    assert "Halfway." in page_text(refused) and 'id="decision" aria-invalid="true"' in refused.get_data(as_text=True)
    assert snapshot(dispute.id) == before

    done = client.post(f"{paths[0]}/decide", data={"csrf_token": token, "decision": "compromise",
                                                   "note": "Two of us saw merit on both sides."})
    assert done.status_code == 200 and "Your decision is recorded" in page_text(done)
    db.session.expire_all()
    decided = db.session.get(Dispute, dispute.id)
    assert (decided.state, decided.decision, decided.decided_by) == ("decided", "compromise", "chair")


# Links that cannot be used -----------------------------------------------------------------------

def test_a_tampered_link_is_not_found_and_a_revoked_one_says_so(client, sent_case):
    dispute, seats, paths = sent_case()
    assert client.get(paths[0][:-3] + "abc").status_code == 404
    db.session.get(AccessLink, db.session.scalars(select(AccessLink).where(AccessLink.seat_id == seats[0].id)).one().id
                   ).revoked_dt = clock.now_utc()
    db.session.commit()
    before = snapshot(dispute.id)
    response = client.get(paths[0])
    assert response.status_code == 410 and "withdrawn" in page_text(response)
    assert f"This link was sent to {seats[0].member.name}" in page_text(response)
    assert client.post(paths[0], data={"choice": "uphold", "reason": REASON}).status_code == 410
    assert snapshot(dispute.id) == before


def test_an_expired_link_says_so(client, sent_case):
    dispute, seats, paths = sent_case()
    link = db.session.scalars(select(AccessLink).where(AccessLink.seat_id == seats[0].id)).one()
    clock.advance(link.expires_dt - clock.now_utc() + timedelta(minutes=1))
    response = client.get(paths[0])
    assert response.status_code == 410 and "expired" in page_text(response)


def test_a_vote_after_the_deadline_but_before_the_sweep_is_refused_kindly(client, sent_case):
    dispute, seats, paths = sent_case()
    token = csrf_of(client.get(paths[0]))
    clock.advance(dispute.panel_due_dt - clock.now_utc() + timedelta(minutes=1))
    before = snapshot(dispute.id)
    response = client.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": REASON})
    text = page_text(response)
    assert response.status_code == 200  # too late is not the member's mistake
    assert "Nothing was changed." in text and "review ended" in text and "You did not vote" in text
    assert snapshot(dispute.id) == before
    assert 'id="vote-form"' not in client.get(paths[0]).get_data(as_text=True)


def test_a_vote_after_the_panel_closed_is_refused_politely(client, sent_case):
    dispute, seats, paths = sent_case(is_panel_closing_early=True)
    token = csrf_of(client.get(paths[2]))
    post_vote(client, paths[0], choice="uphold")
    post_vote(client, paths[1], choice="uphold")  # two of three, and the company closes once the result is clear
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).state == "decided"
    before = snapshot(dispute.id)
    response = client.post(paths[2], data={"csrf_token": token, "choice": "resident", "reason": REASON})
    text = page_text(response)
    assert response.status_code == 200
    assert "Nothing was changed." in text and "The team's review closed at" in text
    assert "The team's review is complete" in text and "You did not vote on this case." in text
    assert "The team decided that the company's position stands (2 of 2 votes)." in text
    assert snapshot(dispute.id) == before


def test_a_conflicted_member_is_told_and_their_vote_is_not_recorded(client, sent_case):
    dispute, seats, paths = sent_case()
    seats[0].member.excluded_property_ids = [dispute.unit.property.id]
    db.session.commit()
    page = client.get(paths[0])
    assert "possible conflict of interest" in page_text(page)
    before = snapshot(dispute.id)
    response = post_vote(client, paths[0])
    assert response.status_code == 403 and "conflict of interest" in page_text(response)
    assert snapshot(dispute.id) == before


# Racing ------------------------------------------------------------------------------------------

def test_one_member_posting_from_several_tabs_at_once_makes_one_vote(app, sent_case):
    dispute, seats, paths = sent_case(size=5)
    tabs = []
    for _ in range(4):
        tab = app.test_client()
        tabs.append((tab, csrf_of(tab.get(paths[0]))))
    start = threading.Barrier(len(tabs))
    statuses = []

    def send(tab, token, n):
        with app.app_context():
            start.wait()
            response = tab.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": f"Tab {n}."})
            statuses.append(response.status_code)
            db.session.remove()

    threads = [threading.Thread(target=send, args=(tab, token, n)) for n, (tab, token) in enumerate(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303] * len(tabs)
    db.session.expire_all()
    votes = db.session.scalars(select(Vote)).all()
    assert len(votes) == 1 and votes[0].seat_id == seats[0].id
    revisions = db.session.scalars(select(VoteRevision.revision).order_by(VoteRevision.revision)).all()
    assert revisions == list(range(1, len(tabs) + 1)) and votes[0].revision == len(tabs)


def test_the_last_two_votes_arriving_together_still_close_the_panel(app, sent_case):
    dispute, seats, paths = sent_case(size=3)
    post_vote(app.test_client(), paths[0], choice="uphold")
    tabs = []
    for path in paths[1:]:
        tab = app.test_client()
        tabs.append((tab, path, csrf_of(tab.get(path))))
    start = threading.Barrier(len(tabs))
    statuses = []

    def send(tab, path, token, choice):
        with app.app_context():
            start.wait()
            response = tab.post(path, data={"csrf_token": token, "choice": choice, "reason": REASON})
            statuses.append(response.status_code)
            db.session.remove()

    threads = [threading.Thread(target=send, args=(*tab, choice))
               for tab, choice in zip(tabs, ("resident", "compromise"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    db.session.expire_all()
    closed = db.session.get(Dispute, dispute.id)
    assert closed.state == "deadlocked" and closed.panel_closed_dt is not None
    assert len(emails(closed, "panel_result")) == 1


def test_a_vote_that_keeps_colliding_is_refused_yet_its_links_use_stays_logged(client, sent_case, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    dispute, seats, paths = sent_case()
    token = csrf_of(client.get(paths[0]))
    tries = []

    def beaten(*args, **kwargs):
        tries.append(1)
        raise StaleDataError("another request changed the dispute first")

    monkeypatch.setattr(panel, "record_vote", beaten)
    response = client.post(paths[0], data={"csrf_token": token, "choice": "uphold", "reason": REASON})
    assert response.status_code == 409 and len(tries) == 2
    assert "This dispute changed while you were looking at it" in page_text(response)
    db.session.expire_all()
    posts = db.session.scalars(select(LinkUse.outcome).join(AccessLink, LinkUse.link_id == AccessLink.id)
                               .where(AccessLink.seat_id == seats[0].id, LinkUse.method == "POST")).all()
    assert posts == ["ok"]  # logged once, in its own transaction, though the request's was rolled back twice
    assert db.session.scalars(select(Vote).where(Vote.seat_id == seats[0].id)).all() == []
