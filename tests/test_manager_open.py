"""Opening a dispute from the manager's form: a new or existing resident, items with amounts, the invitation."""
from __future__ import annotations

import re

from sqlalchemy import func, insert, select

from resolver.extensions import db
from resolver.mail import send_pending
from resolver.models import Dispute, OutboxEmail, Property, Resident

from .conftest import Inbox


def counts():
    return (db.session.scalar(select(func.count(Dispute.id))), db.session.scalar(select(func.count(Resident.id))),
            db.session.scalar(select(func.count(OutboxEmail.id))))


def test_opening_a_dispute_for_a_new_resident_sends_the_invitation(app, signed_in_client, company, manager, smtp):
    prop = Property(company_id=company.id, name="Aspen Court")
    db.session.add(prop)
    db.session.commit()
    staff = signed_in_client(manager)

    response = staff.post("/disputes/new", {
        "resident_choice": "new", "new_name": "Dana Okafor", "new_email": "Dana@Mail.test", "new_phone": "",
        "property_id": str(prop.id), "unit_label": "7C",
        "issue": "The resident says the $150 carpet cleaning charge is unfair because the carpet was clean.",
        "what_was_fixed": "We refunded the pet fee.", "company_position": "The carpet needed cleaning.",
        "category": "deposit", "manager_id": str(manager.id),
        "item-0-description": "Carpet cleaning", "item-0-amount": "$1,150.50", "item-0-reason": "Stains in the bedroom",
        "item-1-description": "Blinds", "item-1-amount": "40", "item-1-reason": "",
        "intent": "open",
    })

    assert response.status_code == 303
    dispute = db.session.scalars(select(Dispute)).one()
    assert response.headers["Location"] == f"/disputes/{dispute.id}"
    assert dispute.state == "awaiting_evidence"
    assert dispute.resident.name == "Dana Okafor" and dispute.resident.email == "dana@mail.test"
    assert dispute.unit.label == "7C" and dispute.unit.property_id == prop.id
    assert [(i.description, i.amount_cents) for i in dispute.items] == [("Carpet cleaning", 115050), ("Blinds", 4000)]
    assert dispute.category == "deposit"
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Security deposit deduction" in page  # the category's name, not its key
    assert "The invitation is on its way to Dana Okafor" in page and "11:59 PM on Saturday 14 March 2026" in page

    assert send_pending() == 1
    [message] = smtp.to("dana@mail.test")
    assert "Saturday 14 March" in Inbox.text_of(message)


def test_saving_a_draft_for_an_existing_resident_sends_nothing(app, signed_in_client, manager, resident):
    db.session.commit()
    staff = signed_in_client(manager)
    response = staff.post("/disputes/new", {
        "resident_choice": "existing", "resident_id": str(resident.id),
        "issue": "Noise from the unit upstairs after the fix.", "category": "noise", "intent": "draft",
    })
    assert response.status_code == 303
    dispute = db.session.scalars(select(Dispute)).one()
    assert dispute.state == "draft" and dispute.resident_id == resident.id
    assert dispute.unit_id == resident.unit_id and dispute.manager_id == manager.id
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0
    assert "Saved as a draft. Nothing has been sent yet." in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)


def test_the_form_lists_only_the_companys_own_residents(
    app, signed_in_client, manager, resident, make_company, make_resident
):
    make_resident(make_company(), name="Somebody Elsewhere")
    db.session.commit()
    page = signed_in_client(manager).get("/disputes/new").get_data(as_text=True)
    assert resident.name in page and "Somebody Elsewhere" not in page


def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(
    app, signed_in_client, manager, resident, make_company, make_resident
):
    stranger = make_resident(make_company(), name="Somebody Elsewhere")
    db.session.commit()
    staff = signed_in_client(manager)
    before = counts()
    base = {"resident_choice": "existing", "resident_id": str(resident.id), "issue": "The issue.", "category": "repair",
            "intent": "open"}
    cases = [
        ({"item-0-description": "Carpet", "item-0-amount": "12,34x"}, "should be written like 150 or 150.00"),
        ({"item-0-description": "Carpet", "item-0-amount": "-5"}, "cannot be negative"),
        ({"item-0-amount": "50"}, "needs a description"),
        ({"issue": "   "}, "Describe the issue"),
        ({"resident_id": str(stranger.id)}, "Choose one of your company&#39;s residents"),
        ({"resident_id": "99999"}, "Choose one of your company&#39;s residents"),
        ({"resident_id": "abc"}, "Choose the resident from the list"),
        ({"resident_choice": "new", "new_name": "New Person", "new_email": "not-an-address"}, "email address"),
        ({"property_id": "424242", "unit_label": "1A"}, "Choose one of your company&#39;s properties"),
        ({"manager_id": "424242"}, "Choose one of your company&#39;s managers"),
        ({"category": ""}, "Choose the dispute&#39;s category."),
        ({"category": "parking lot lights"}, "There is no category called “parking lot lights”. Choose one of: "
                                             "deposit, rent_or_fee, repair, noise, pest, other."),
    ]
    for change, message in cases:
        response = staff.post("/disputes/new", {**base, **change})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, change
        assert message in html and "Nothing was saved" in html, change
        assert counts() == before, change
    # The form keeps what was typed.
    response = staff.post("/disputes/new", {**base, "issue": "Keep this text", "item-0-amount": "5"})
    assert "Keep this text" in response.get_data(as_text=True)
    # A wrong amount is shown as typed, with the problem beside its row (the row named by its number).
    html = staff.post("/disputes/new", {**base, "item-1-description": "Blinds", "item-1-amount": "4O"}).get_data(
        as_text=True)
    assert 'name="item-1-amount" aria-label="Amount of item 2" value="4O"' in html
    assert '<p class="field-error">The amount should be written like 150 or 150.00 (dollars and cents).</p>' in html
    html = staff.post("/disputes/new", {**base, "item-2-amount": "50"}).get_data(as_text=True)
    assert "Disputed item 3 needs a description." in html
    assert counts() == before


def test_a_resident_without_email_cannot_be_invited(app, signed_in_client, manager, company, make_resident):
    quiet = make_resident(company, name="No Email", email="")
    db.session.commit()
    before = counts()
    response = signed_in_client(manager).post("/disputes/new", {
        "resident_choice": "existing", "resident_id": str(quiet.id), "issue": "Something.", "category": "other",
        "intent": "open",
    })
    assert response.status_code == 409
    assert "has no email address" in response.get_data(as_text=True)
    assert counts() == before


def test_a_new_resident_typed_in_is_used_even_if_the_list_was_left_selected(app, signed_in_client, manager, resident):
    """The list is the default; someone who skips the radio button and types a new resident means them."""
    db.session.commit()
    response = signed_in_client(manager).post("/disputes/new", {
        "resident_choice": "existing", "resident_id": "", "new_name": "Jordan Newcomer",
        "new_email": "jordan@mail.test", "issue": "The parking fee was charged twice.", "category": "rent_or_fee",
        "intent": "draft",
    })
    assert response.status_code == 303
    dispute = db.session.scalars(select(Dispute)).one()
    assert dispute.resident.name == "Jordan Newcomer" and dispute.resident.email == "jordan@mail.test"


def test_thousands_of_residents_are_searched_not_scrolled(app, signed_in_client, manager, company):
    db.session.execute(insert(Resident), [
        {"company_id": company.id, "name": f"Resident {n:05d}", "email": f"r{n}@mail.test", "phone": ""}
        for n in range(3000)
    ])
    db.session.commit()
    staff = signed_in_client(manager)
    listed = lambda html: re.findall(r'<option value="\d+"[^>]*>(Resident \d+)', html)  # noqa: E731

    page = staff.get("/disputes/new").get_data(as_text=True)
    assert len(listed(page)) == 200 and "Showing the first 200 residents" in page
    found = staff.get("/disputes/new?who=r2999@").get_data(as_text=True)
    assert listed(found) == ["Resident 02999"] and "1 resident matching" in found

    # A form shown again with a mistake keeps the resident it chose, even one beyond the first 200.
    far = db.session.scalars(select(Resident).where(Resident.name == "Resident 02999")).one()
    again = staff.post("/disputes/new", {"resident_choice": "existing", "resident_id": str(far.id), "issue": ""})
    assert again.status_code == 422
    assert re.search(rf'<option value="{far.id}" selected>Resident 02999', again.get_data(as_text=True))


def test_the_form_offers_the_companys_categories_and_stores_the_chosen_key(
    app, signed_in_client, supervisor, manager, company, resident
):
    from resolver.actors import Actor
    from resolver.services import categories

    categories.add_category(Actor.staff(supervisor), company, {
        "label": "Parking permits", "matter": "your parking permit", "concession": "off your next permit",
        "task": "Take {amount} off the resident's next permit", "token": "gift card"})
    categories.archive_category(Actor.staff(supervisor), company, "pest")
    db.session.commit()
    staff = signed_in_client(manager)
    page = staff.get("/disputes/new").get_data(as_text=True)
    assert '<option value="parking_permits" >Parking permits</option>' in page
    assert '<option value="noise" >Noise or neighbour</option>' in page
    assert 'value="pest"' not in page  # archived: not offered

    base = {"resident_choice": "existing", "resident_id": str(resident.id), "issue": "The permit.", "intent": "draft"}
    refused = staff.post("/disputes/new", {**base, "category": "pest"})
    assert refused.status_code == 422 and "“Pests” is archived" in refused.get_data(as_text=True)
    assert counts()[0] == 0
    response = staff.post("/disputes/new", {**base, "category": "parking_permits"})
    assert response.status_code == 303
    dispute = db.session.scalars(select(Dispute)).one()
    assert dispute.category == "parking_permits"
    assert "Parking permits" in staff.get(f"/disputes/{dispute.id}").get_data(as_text=True)
