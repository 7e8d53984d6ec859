"""Each kind of dispute is spoken of in its own words, and free text typed before categories existed
still finds its kind."""
import pytest

from resolver.services.categories import category_named, default_categories, phrases_of

@pytest.mark.parametrize("typed, key", [
    ("security deposit", "deposit"), ("Security deposit deduction", "deposit"), ("late fee", "rent_or_fee"),
    ("maintenance", "repair"), ("Noise", "noise"), ("pest control", "pest"), ("something odd", "other"),
    ("", "other"), ("deposit", "deposit"),
])
def test_a_category_is_found_by_its_key_label_or_other_name(company, typed, key):
    assert category_named(company, typed).key == key


def test_no_category_is_spoken_of_as_the_residents_possession():
    for category in default_categories():
        assert not category.matter.startswith("your "), category.key
        assert category.concession_line("$50").startswith("$50 ")
        assert "$50" in category.concession_task("$50")


def test_a_noise_dispute_concedes_rent_credit_not_deposit(make_dispute):
    dispute = make_dispute(category="noise")
    phrases = phrases_of(dispute)
    assert "deposit" not in phrases.concession
    assert "rent" in phrases.concession


def test_a_new_categorys_key_is_made_from_its_name_and_never_taken_twice(company, supervisor):
    from resolver.actors import Actor
    from resolver.services.categories import add_category, change_category

    phrases = {"matter": "the matter", "concession": "credited to you", "task": "Credit {amount}", "token": "gift card"}
    first = add_category(Actor.staff(supervisor), company, {**phrases, "label": "Pool & gym fees"})
    change_category(Actor.staff(supervisor), company, first.key, {"label": "Amenity fees"})
    second = add_category(Actor.staff(supervisor), company, {**phrases, "label": "Pool & Gym fees!"})
    assert (first.key, second.key) == ("pool_gym_fees", "pool_gym_fees_2")
    assert category_named(company, "pool_gym_fees").label == "Amenity fees"  # the key stays when the name changes
