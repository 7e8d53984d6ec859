"""The personal link: mail scanners may open it as often as they like and change nothing; an
expired, revoked, tampered, someone else's or wrong-purpose link is refused kindly; every use is logged."""
from __future__ import annotations

from datetime import timedelta

import pytest

from resolver import clock
from resolver.extensions import db
from resolver.links import issue_link, revoke_links, token_for
from resolver.models import LinkUse, LinkUseCount, Submission

from .test_resident_support import ResidentForm, counts, dispute_snapshot, evidence_link, evidence_path, pdf, photo

SCANNER = "Mozilla/5.0 (compatible; SafeLinks link checker)"


@pytest.fixture
def waiting(make_dispute):
    dispute = make_dispute("awaiting_evidence", items=[{"description": "Carpet cleaning", "amount_cents": 15000}])
    db.session.commit()
    return dispute


def uses(dispute) -> list[LinkUse]:
    link = evidence_link(dispute)
    return db.session.scalars(db.select(LinkUse).where(LinkUse.link_id == link.id).order_by(LinkUse.id)).all()


@pytest.mark.parametrize("state", ["awaiting_evidence", "evidence_received"])
def test_opening_every_page_with_get_and_head_many_times_changes_nothing(client, make_dispute, state):
    dispute = make_dispute(state)
    db.session.commit()
    if state == "evidence_received":
        ResidentForm(client, dispute).send(files=[("a.jpg", photo()), ("b.pdf", pdf())])
    submission = db.session.scalars(db.select(Submission).order_by(Submission.id.desc())).first()
    paths = [evidence_path(dispute), evidence_path(dispute, "/status")]
    if submission is not None:
        paths += [evidence_path(dispute, f"/receipt/{submission.id}")]
        paths += [evidence_path(dispute, f"/files/{f.id}") for f in submission.files]
    before, snapshot, logged = counts(), dispute_snapshot(dispute.id), len(uses(dispute))
    for _ in range(5):
        for path in paths:
            for method in (client.get, client.head):
                with method(path, headers={"User-Agent": SCANNER}) as response:
                    assert response.status_code == 200, path
    assert counts() == before
    assert dispute_snapshot(dispute.id) == snapshot
    new_uses = uses(dispute)[logged:]
    counted = db.session.scalar(db.select(db.func.sum(LinkUseCount.uses)).where(
        LinkUseCount.link_id == evidence_link(dispute).id)) or 0
    # ... but every use is logged: the hour's first in full, the rest counted.
    assert len(new_uses) + counted == 5 * len(paths) * 2
    assert {u.method for u in new_uses} == {"GET", "HEAD"}
    assert {(u.ip, u.user_agent, u.outcome) for u in new_uses} == {("127.0.0.1", SCANNER, "ok")}
    assert new_uses[0].used_dt == clock.now_utc() and new_uses[0].path == paths[0]


def test_an_expired_link_is_refused_kindly_and_logged(client, waiting):
    path = evidence_path(waiting)
    clock.advance(evidence_link(waiting).expires_dt - clock.now_utc() + timedelta(minutes=1))
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link has expired" in html and "303-555-0123" in html  # and who to call
    assert uses(waiting)[-1].outcome == "expired"


def test_a_revoked_link_is_refused_and_a_send_through_it_saves_nothing(client, waiting):
    form = ResidentForm(client, waiting)
    form.open()
    link = evidence_link(waiting)
    revoke_links(waiting.id, "evidence", clock.now_utc(), "a newer link was sent")
    db.session.commit()
    before = counts()
    assert "This link is no longer active" in client.get(form.path).get_data(as_text=True)
    sent = form.send(files=[("a.jpg", photo())])
    assert sent.status_code == 410
    assert counts() == before
    logged = db.session.scalars(db.select(LinkUse).where(LinkUse.link_id == link.id).order_by(LinkUse.id)).all()
    assert [(u.method, u.outcome) for u in logged] == [("GET", "ok"), ("GET", "revoked"), ("POST", "revoked")]


@pytest.mark.parametrize("spoil", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: token.split(".")[0] + ".forged",
    lambda token: "not-a-token",
])
def test_a_tampered_link_is_refused(client, waiting, spoil):
    token = token_for(evidence_link(waiting))
    response = client.get(f"/r/e/{spoil(token)}")
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)
    assert "Tammy" not in response.get_data(as_text=True)


def test_a_link_for_another_purpose_is_refused(client, waiting):
    outcome = issue_link(waiting, "outcome", resident=waiting.resident, expires_dt=clock.now_utc() + timedelta(days=9))
    db.session.commit()
    before = counts()
    response = client.get(f"/r/e/{token_for(outcome)}")
    assert response.status_code == 403
    assert "This link is for something else" in response.get_data(as_text=True)
    assert counts() == before
    assert db.session.scalars(db.select(LinkUse).where(LinkUse.link_id == outcome.id)).one().outcome == "wrong-purpose"


def test_a_link_issued_to_someone_else_is_refused(client, waiting, make_resident, company):
    stranger = make_resident(company, name="Someone Else")
    other = issue_link(waiting, "evidence", resident=stranger, expires_dt=clock.now_utc() + timedelta(days=9))
    db.session.commit()
    response = client.get(f"/r/e/{token_for(other)}")
    assert response.status_code == 403
    assert "belongs to someone else" in response.get_data(as_text=True)
    assert "Tammy" not in response.get_data(as_text=True)
    assert db.session.scalars(db.select(LinkUse).where(LinkUse.link_id == other.id)).one().outcome == "wrong-person"


def test_a_send_through_a_good_link_is_logged_with_its_method(client, waiting):
    ResidentForm(client, waiting).send()
    assert [(u.method, u.outcome) for u in uses(waiting)] == [("GET", "ok"), ("POST", "ok")]
