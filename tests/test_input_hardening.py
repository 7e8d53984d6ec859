"""Input that can never become a header, a trick or a crash: downloads named by what the file is,
names without line breaks or invisible characters, numbers in ASCII digits, searches that mean what
they say, JSON of a sane size, and emails that carry no internal ids."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, EvidenceFile, OutboxEmail, PanelMember, Resident, StaffUser
from resolver.web.api.keys import create_api_key

from .conftest import Inbox
from .test_resident_support import ResidentForm, pdf, photo

INVISIBLE = ("\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff")


@pytest.fixture
def api(app, supervisor, manager):
    """A client that sends the company's API key."""
    _, key = create_api_key(supervisor, name="AppFolio sync", acting_user=manager)
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}

    class Api:
        def get(self, path):
            return client.get(f"/api/v1{path}", headers=headers)

        def post(self, path, body=None, **kw):
            return client.post(f"/api/v1{path}", json=body, headers=headers, **kw)

    return Api()


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Dispute.id))), db.session.scalar(select(func.count(Resident.id))),
            db.session.scalar(select(func.count(OutboxEmail.id))))


def saved_as(filename: str) -> str:
    """The name a browser saves a download under, from its Content-Disposition."""
    match = re.search(r"filename\*=UTF-8''([^;]+)|filename=\"?([^\";]+)", filename)
    return unquote(match.group(1)) if match.group(1) else match.group(2)


# Downloads ---------------------------------------------------------------------------------------

SENT_AS = [
    ("invoice.html", pdf(), "invoice.pdf"),
    ("readme.exe", b"The key was returned on 3 March.\n", "readme.txt"),
    ("notes.html", b"The carpet was clean.\n", "notes.txt"),
    ("photo.jpg\x00.html", photo(), "photo.jpg"),
]


@pytest.mark.parametrize("name, content, expected", SENT_AS, ids=[n.replace("\x00", "NUL") for n, _, _ in SENT_AS])
def test_a_managers_download_is_named_by_what_the_file_really_is(
    client, signed_in_client, manager, waiting, name, content, expected
):
    sent = ResidentForm(client, waiting).send(files=[(name, content)])
    assert sent.status_code == 303, sent.get_data(as_text=True)
    stored = db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == waiting.id)).one()

    response = signed_in_client(manager).get(f"/disputes/{waiting.id}/files/{stored.id}?download=1")

    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert saved_as(disposition) == expected


def test_a_name_stored_before_is_still_downloaded_under_a_safe_name(client, signed_in_client, manager, waiting):
    """Files kept before names were cleaned keep their name in the database; the download fixes it."""
    ResidentForm(client, waiting).send(files=[("a.pdf", pdf())])
    stored = db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == waiting.id)).one()
    stored.original_name = "receipt\u202efdp.html"
    db.session.commit()

    response = signed_in_client(manager).get(f"/disputes/{waiting.id}/files/{stored.id}")

    assert saved_as(response.headers["Content-Disposition"]) == "receiptfdp.pdf"


# Invisible characters ----------------------------------------------------------------------------

def test_a_right_to_left_override_in_a_file_name_is_removed_before_anyone_sees_it(
    client, signed_in_client, manager, waiting, smtp
):
    sent = ResidentForm(client, waiting).send(files=[("receipt\u202efdp.jpg", photo())])
    assert sent.status_code == 303, sent.get_data(as_text=True)

    stored = db.session.scalars(select(EvidenceFile).where(EvidenceFile.dispute_id == waiting.id)).one()
    assert stored.original_name == "receiptfdp.jpg"
    page = signed_in_client(manager).get(f"/disputes/{waiting.id}").get_data(as_text=True)
    assert "receiptfdp.jpg" in page and "\u202e" not in page
    assert send_pending() >= 1
    for message in (entry["message"] for entry in smtp.messages):
        assert "\u202e" not in Inbox.text_of(message) and "\u202e" not in Inbox.html_of(message)


def test_invisible_characters_are_removed_from_a_new_residents_name(signed_in_client, manager, company):
    staff = signed_in_client(manager)
    response = staff.post("/disputes/new", {
        "resident_choice": "new", "new_name": "Dana\u200b Oka\u202efor\ufeff", "new_email": "dana@mail.test",
        "issue": "The carpet cleaning charge is unfair.", "category": "deposit", "intent": "draft",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    assert db.session.scalars(select(Resident.name).where(Resident.email == "dana@mail.test")).one() == "Dana Okafor"


def test_invisible_characters_are_removed_from_names_sent_through_the_api(api):
    response = api.post("/residents", {"name": "\u2066Dana Okafor\u2069", "email": "dana@mail.test"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "Dana Okafor"


def test_a_name_spelled_with_a_zero_width_non_joiner_keeps_it(api):
    # Persian and other scripts spell some names with a zero-width non-joiner; it cannot reorder text.
    name = "\u0645\u06cc\u200c\u0631\u0627 \u0631\u0636\u0627\u06cc\u06cc"
    response = api.post("/residents", {"name": name, "email": "mira@mail.test"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == name


# Line breaks and control characters --------------------------------------------------------------

NOT_ONE_LINE = [
    ({"new_name": "Dana Okafor\nBcc: everyone@mail.test"}, "A name can&#39;t contain line breaks."),
    ({"new_name": "Dana\rOkafor"}, "A name can&#39;t contain line breaks."),
    ({"new_name": "Dana\u2028Okafor"}, "A name can&#39;t contain line breaks."),
    ({"new_name": "Dana\tOkafor"}, "A name can&#39;t contain control characters"),
    ({"new_email": "dana@mail.test\nBcc: everyone@mail.test"}, "An email address can&#39;t contain line breaks."),
]


@pytest.mark.parametrize("change, message", NOT_ONE_LINE, ids=[repr(next(iter(c.values()))) for c, _ in NOT_ONE_LINE])
def test_a_name_or_address_with_a_line_break_is_refused_on_the_form_and_nothing_is_saved(
    signed_in_client, manager, company, change, message
):
    staff = signed_in_client(manager)
    before = counts()
    response = staff.post("/disputes/new", {
        "resident_choice": "new", "new_name": "Dana Okafor", "new_email": "dana@mail.test",
        "issue": "The carpet cleaning charge is unfair.", "category": "deposit", "intent": "open", **change,
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "Nothing was saved" in html
    assert counts() == before


@pytest.mark.parametrize("resident, field, message", [
    ({"name": "Dana Okafor\nBcc: everyone@mail.test", "email": "dana@mail.test"}, "resident.name",
     "A name can't contain line breaks."),
    ({"name": "Dana Okafor", "email": "dana@mail.test\r\nBcc: everyone@mail.test"}, "resident.email",
     "An email address can't contain line breaks."),
])
def test_a_name_or_address_with_a_line_break_is_refused_by_the_api(api, resident, field, message):
    before = counts()
    response = api.post("/disputes", {"resident": resident, "issue": "The charge is unfair.", "category": "deposit"})
    assert response.status_code == 422
    assert response.get_json()["message"] == message and response.get_json()["field"] == field
    assert counts() == before


def test_a_residents_name_with_a_line_break_is_refused_in_the_portfolio_too(api, signed_in_client, manager):
    before = counts()
    response = api.post("/residents", {"name": "Dana\nOkafor", "email": "dana@mail.test"})
    assert response.status_code == 422 and response.get_json()["message"] == "A name can't contain line breaks."
    page = signed_in_client(manager).post("/residents/new", {"name": "Dana\nOkafor", "email": "dana@mail.test"})
    assert "A name can&#39;t contain line breaks." in page.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize("path", ["/settings/staff", "/settings/roster"])
def test_a_staff_or_panel_members_name_with_a_line_break_is_refused(signed_in_client, supervisor, path):
    before = (db.session.scalar(select(func.count(StaffUser.id))), db.session.scalar(select(func.count(PanelMember.id))))
    response = signed_in_client(supervisor).post(path, {"name": "Riley New\r\nBcc: everyone@mail.test",
                                                        "email": "riley@aspen.test", "role": "manager"})
    assert response.status_code == 422
    assert "A name can&#39;t contain line breaks." in response.get_data(as_text=True)
    assert (db.session.scalar(select(func.count(StaffUser.id))),
            db.session.scalar(select(func.count(PanelMember.id)))) == before


# Numbers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/?page=²", "/?page=٣", "/?property=²", "/?manager=²", "/reports?months=²",
                                  "/reports/categories.csv?months=²", "/disputes/new?resident_id=²",
                                  "/properties?page=²", "/residents?property=²"])
def test_a_number_in_another_script_is_not_a_crash(signed_in_client, manager, path):
    response = signed_in_client(manager).get(path)
    assert response.status_code in (200, 422), response.status_code


@pytest.mark.parametrize("path", ["/disputes?page=²", "/disputes?page=１", "/properties?page=²",
                                  "/residents?per_page=²"])
def test_the_api_refuses_a_number_in_another_script_clearly(api, path):
    response = api.get(path)
    assert response.status_code == 422
    assert "whole number" in response.get_json()["message"]


# JSON bodies -------------------------------------------------------------------------------------

def test_deeply_nested_json_is_refused_clearly(api):
    before = counts()
    response = api.post("/disputes", data="[" * 50_000, content_type="application/json")
    assert response.status_code == 422
    assert "nested too deeply" in response.get_json()["message"]
    assert counts() == before
    # Brackets inside a string are text, not nesting.
    response = api.post("/disputes", {"resident": {"name": "[Dana]" * 30, "email": "dana@mail.test"},
                                      "issue": "[{" * 500, "category": "deposit"})
    assert response.status_code == 201, response.get_json()


def test_a_huge_json_body_is_refused_clearly(api):
    response = api.post("/disputes", {"issue": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "KB of JSON" in response.get_json()["message"]


# Searching ---------------------------------------------------------------------------------------

def test_a_search_for_a_wildcard_finds_only_what_holds_it(signed_in_client, api, manager, make_dispute, make_resident,
                                                          company):
    make_dispute("awaiting_evidence")
    db.session.commit()
    staff = signed_in_client(manager)
    for search in ("%", "_", "\\"):
        assert api.get(f"/disputes?q={search}").get_json()["total"] == 0, search
        assert "No dispute matches these filters." in staff.get("/", query_string={"q": search}).get_data(as_text=True), search
    make_resident(company, name="Fifty_Fifty Holdings", email="ff@mail.test")
    make_resident(company, name="Fifty Fifty", email="f2@mail.test")
    db.session.commit()
    page = staff.get("/disputes/new", query_string={"who": "fifty_"}).get_data(as_text=True)
    assert "Fifty_Fifty Holdings" in page and "Fifty Fifty<" not in page


# Email headers -----------------------------------------------------------------------------------

def test_an_email_carries_no_internal_ids(make_dispute, smtp):
    make_dispute("awaiting_evidence")
    db.session.commit()
    assert send_pending() >= 1
    assert smtp.messages
    for message in (entry["message"] for entry in smtp.messages):
        assert not [name for name in message.keys() if name.lower().startswith("x-resolver")]
