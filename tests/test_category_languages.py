"""The company's own words in the resident's language: Resolver's categories come with Spanish phrases,
a supervisor gives the company's wording (categories, the mediation service) beside the English in
Settings, and where a company left a language out the resident reads its English, said to be English."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from resolver.extensions import db
from resolver.i18n import speaking, spoken_languages
from resolver.models import Company, CompanyEvent
from resolver.services.categories import (
    WORDED_PER_LANGUAGE, categories_of, category_named, default_categories, default_wording, phrases_of,
)
from resolver.wording import Words, company_words

from .spanish import english_left
from .test_category_settings import NOISE
from .test_manager_settings import RULES

NOISE_ES = {"in_es-label": "Ruido de los vecinos", "in_es-matter": "el ruido de la casa de al lado",
            "in_es-concession": "menos en la renta del próximo mes", "in_es-token": "boletos de cine"}


def events(company, action):
    return db.session.scalars(select(CompanyEvent).where(
        CompanyEvent.company_id == company.id, CompanyEvent.action == action).order_by(CompanyEvent.id)).all()


def saved(client, key, phrases, change="save"):
    return client.post(f"/settings/categories/{key}", {**phrases, "change": change})


def test_every_category_of_resolvers_has_its_phrases_in_every_language_it_speaks():
    for tag in spoken_languages()[1:]:
        for category in default_categories():
            given = default_wording()[category.key].get(tag)
            assert given and all(given[name].strip() for name in WORDED_PER_LANGUAGE), (tag, category.key)


def test_a_spanish_speaking_residents_dispute_is_spoken_of_in_spanish(app, make_dispute, resident):
    resident.preferred_language = "es"
    dispute = make_dispute("draft", category="noise")

    with speaking(dispute.resident.preferred_language):
        phrases = phrases_of(dispute)
    assert phrases.language == "es"
    assert (phrases.label, phrases.matter, phrases.token) == ("Ruido o vecinos", "el ruido y sus vecinos",
                                                              "tarjeta de regalo")
    assert phrases.concession_line("$50") == "$50 como crédito en la renta del próximo mes"
    assert english_left(f"{phrases.label} {phrases.matter} {phrases.concession} {phrases.token}") == []
    # The manager's task is staff's, in English; outside the resident's language all is English.
    assert phrases.concession_task("$50") == "Credit $50 on the resident's next rent"
    assert phrases_of(dispute).language == "en" and phrases_of(dispute).matter == "the noise and your neighbours"
    assert phrases_of(dispute, "es") == phrases
    # Free text typed in English before categories were keys still finds its kind, in Spanish.
    assert category_named(dispute.company, "Security deposit deduction", "es").label == \
        "Descuento del depósito de seguridad"
    # A language Resolver does not speak is answered in English.
    assert phrases_of(dispute, "ko").language == "en"


def test_a_category_the_company_reworded_without_spanish_is_left_in_english_and_says_so(
    app, signed_in_client, supervisor, company, make_dispute
):
    noise, repair = make_dispute("draft", category="noise"), make_dispute("draft", category="repair")
    db.session.commit()
    staff = signed_in_client(supervisor)
    assert saved(staff, "noise", NOISE).status_code == 303
    assert saved(staff, "repair", {**category_named(company, "repair", "en").phrases,
                                   "task": "Credit {amount} on the next rent"}).status_code == 303
    staff.post("/settings/categories", {"label": "Parking permits", "matter": "your parking permit",
                                        "concession": "off the permit", "task": "Refund {amount}", "token": "car wash"})
    db.session.expire_all()

    left = phrases_of(noise, "es")
    assert (left.language, left.matter, left.token) == ("en", "the noise from next door", "cinema voucher")
    # Changing only the manager's task changes nothing a resident reads: Resolver's Spanish still fits.
    assert phrases_of(repair, "es").language == "es"
    assert phrases_of(repair, "es").matter == "la reparación en su hogar"
    added = category_named(company, "parking permits", "es")
    assert (added.language, added.label) == ("en", "Parking permits")
    page = staff.get("/settings").get_data(as_text=True)
    assert "not given: residents read the English, and their letter says so" in page


def test_spanish_wording_given_in_settings_is_used_and_kept_in_the_history(
    app, signed_in_client, supervisor, company, make_dispute
):
    dispute = make_dispute("draft", category="noise")
    db.session.commit()
    staff = signed_in_client(supervisor)
    page = staff.get("/settings").get_data(as_text=True)
    assert 'name="in_es-matter" lang="es"' in page and "In Spanish" in page
    no_token = staff.client.post("/settings/categories/noise", data={**NOISE, **NOISE_ES, "change": "save"})
    assert no_token.status_code == 400  # a post without the form's CSRF token is refused

    response = saved(staff, "noise", {**NOISE, **NOISE_ES})
    assert response.status_code == 303
    db.session.expire_all()
    phrases = phrases_of(dispute, "es")
    assert (phrases.language, phrases.label, phrases.matter) == ("es", "Ruido de los vecinos",
                                                                 "el ruido de la casa de al lado")
    assert phrases.concession_line("$50") == "$50 menos en la renta del próximo mes"
    assert phrases_of(dispute).matter == "the noise from next door"  # English where English is spoken
    [worded] = events(company, "category_worded")
    assert worded.data["language"] == "es" and worded.data["category"] == "noise"
    assert worded.data["changed"]["matter"] == ["", "el ruido de la casa de al lado"]
    page = staff.get("/settings").get_data(as_text=True)
    assert "changed the Spanish wording of the category “Noise or neighbour”: label, matter, concession, token" in page
    assert 'value="el ruido de la casa de al lado"' in page

    # A post without the Spanish fields (an older page) keeps them; all left empty takes them away.
    assert saved(staff, "noise", {**NOISE, "token": "movie voucher"}).status_code == 303
    db.session.expire_all()
    assert phrases_of(dispute, "es").token == "boletos de cine"
    assert saved(staff, "noise", {**NOISE, **{name: "" for name in NOISE_ES}}).status_code == 303
    db.session.expire_all()
    assert phrases_of(dispute, "es").language == "en"
    assert events(company, "category_worded")[-1].data["changed"]["token"] == ["boletos de cine", ""]

    # Back to Resolver's wording is Resolver's in every language.
    saved(staff, "noise", {**NOISE, **NOISE_ES})
    assert saved(staff, "noise", {}, change="reset").status_code == 303
    db.session.expire_all()
    assert phrases_of(dispute, "es").matter == "el ruido y sus vecinos"
    assert events(company, "category_reset")[-1].data["wording_before"]["es"]["token"] == "boletos de cine"


def test_spanish_wording_of_an_added_category_comes_with_it(app, signed_in_client, supervisor, company):
    db.session.commit()
    staff = signed_in_client(supervisor)
    added = {"label": "Parking permits", "matter": "the parking permit", "concession": "off the permit",
             "task": "Refund {amount}", "token": "car wash", "in_es-label": "Permisos de estacionamiento",
             "in_es-matter": "el permiso de estacionamiento", "in_es-concession": "de descuento en el permiso",
             "in_es-token": "lavado de auto"}
    assert staff.post("/settings/categories", added).status_code == 303
    db.session.expire_all()
    assert category_named(company, "parking_permits", "es").matter == "el permiso de estacionamiento"
    assert [e.action for e in events(company, "category_worded")] == ["category_worded"]


@pytest.mark.parametrize("change, message", [
    ({"in_es-token": ""}, "The usual token in Spanish cannot be empty: give every phrase in Spanish"),
    ({"in_es-label": "Plagas"}, "Another category is already called “Plagas” in Spanish."),
    ({"in_es-matter": "x" * 201}, "Please keep this under 200 characters."),
])
def test_bad_spanish_wording_is_refused_and_nothing_changes(
    app, signed_in_client, supervisor, company, make_dispute, change, message
):
    dispute = make_dispute("draft", category="noise")
    db.session.commit()
    response = saved(signed_in_client(supervisor), "noise", {**NOISE, **NOISE_ES, **change})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert phrases_of(dispute).matter == "the noise and your neighbours"  # the English did not change either
    assert phrases_of(dispute, "es").matter == "el ruido y sus vecinos"
    assert events(company, "category_worded") == []


def test_the_mediation_service_given_in_spanish_is_used_and_the_rest_is_english_said_so(
    app, signed_in_client, supervisor, company
):
    db.session.commit()
    staff = signed_in_client(supervisor)
    response = staff.post("/settings/company", {**RULES, "mediation_choice": "named",
                                                 "in_es-mediation_service_name": "Mediación de Front Range",
                                                 "in_es-mediation_service_contact": ""})
    assert response.status_code == 303
    db.session.expire_all()
    company = db.session.get(Company, company.id)
    assert company_words(company, "mediation_service_name", "es") == Words("Mediación de Front Range", "es")
    assert company_words(company, "mediation_service_contact", "es") == Words("mediation.test", "en")
    assert company_words(company, "mediation_service_name") == Words("Front Range Mediation", "en")
    with speaking("es"):
        assert company_words(company, "mediation_service_name").language == "es"
    [changed] = events(company, "words_changed")
    assert changed.data == {"language": "es",
                            "changed": {"mediation_service_name": ["", "Mediación de Front Range"]}}
    page = staff.get("/settings").get_data(as_text=True)
    assert "changed the Spanish wording of the settings: mediation service name" in page
    assert 'name="in_es-mediation_service_name" lang="es" value="Mediación de Front Range"' in page

    # A refused form shows the Spanish as it was typed, and changes nothing.
    refused = staff.post("/settings/company", {**RULES, "token_step": "0.50",
                                                "in_es-mediation_service_name": "Mediación Rocosa"})
    assert refused.status_code == 422
    assert 'name="in_es-mediation_service_name" lang="es" value="Mediación Rocosa"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert company_words(db.session.get(Company, company.id), "mediation_service_name", "es").text == \
        "Mediación de Front Range"

    # The rules saved from a page without the Spanish fields keep them.
    assert staff.post("/settings/company", {**RULES, "contact_phone": "303-555-0124"}).status_code == 303
    db.session.expire_all()
    assert company_words(db.session.get(Company, company.id), "mediation_service_name", "es").language == "es"


def test_a_manager_cannot_change_the_wording_in_other_languages(
    app, signed_in_client, manager, company, make_dispute
):
    dispute = make_dispute("draft", category="noise")
    db.session.commit()
    staff = signed_in_client(manager)
    assert saved(staff, "noise", {**category_named(company, "noise", "en").phrases, **NOISE_ES}).status_code == 403
    assert staff.post("/settings/company", {**RULES, "in_es-mediation_service_name": "Mediación"}).status_code == 403
    db.session.expire_all()
    assert phrases_of(dispute, "es").matter == "el ruido y sus vecinos"
    assert db.session.get(Company, company.id).wording == {}
    assert events(company, "category_worded") == events(company, "words_changed") == []
    assert 'name="in_es-matter"' not in staff.get("/settings").get_data(as_text=True)


def test_the_apis_category_list_stays_english(app, signed_in_client, supervisor, manager, company):
    from resolver.web.api.keys import create_api_key

    _, key = create_api_key(supervisor, name="AppFolio sync", acting_user=manager)
    db.session.commit()
    saved(signed_in_client(supervisor), "noise", {**category_named(company, "noise", "en").phrases, **NOISE_ES})
    listed = app.test_client().get("/api/v1/categories", headers={"Authorization": f"Bearer {key}"}).get_json()
    assert listed["categories"] == [{"key": c.key, "label": c.label} for c in default_categories()]
    assert [c.language for c in categories_of(company)] == ["en"] * len(default_categories())


def test_a_post_with_one_spanish_field_changes_that_one_only(app, signed_in_client, supervisor, company, make_dispute):
    dispute = make_dispute("draft", category="noise")
    db.session.commit()
    staff = signed_in_client(supervisor)
    staff.post("/settings/company", {**RULES, "in_es-mediation_service_name": "Mediación de Front Range",
                                     "in_es-mediation_service_contact": "mediation.test/es"})
    staff.post("/settings/company", {**RULES, "in_es-mediation_service_name": "Mediación Front Range"})
    # A category's Spanish phrases go together: one alone is refused rather than half a wording.
    refused = saved(staff, "noise", {**NOISE, "in_es-matter": "el ruido de al lado"})
    db.session.expire_all()
    company = db.session.get(Company, company.id)
    assert company_words(company, "mediation_service_name", "es").text == "Mediación Front Range"
    assert company_words(company, "mediation_service_contact", "es") == Words("mediation.test/es", "es")
    assert refused.status_code == 422 and "give every phrase in Spanish" in refused.get_data(as_text=True)
    assert phrases_of(dispute, "es").matter == "el ruido y sus vecinos"
