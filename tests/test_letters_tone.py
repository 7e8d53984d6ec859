"""The tone check: the phrases the practice notes warn against, and the parts a reply must have."""
from __future__ import annotations

import pytest

from resolver.letters.tone import check_tone

GOOD = """Dear Tammy,

I'm sorry you have had this trouble with your deposit. You told us the carpet was clean when you left.

The team found our charge was fair. What happens next: I will call you on Friday.

Thank you for bringing this to us.
"""


def codes(text: str, **kwargs) -> list[str]:
    return [flag.code for flag in check_tone(text, **kwargs)]


def test_a_letter_with_apology_restatement_next_step_and_thanks_passes():
    assert codes(GOOD) == []


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("I'm sorry you feel that way.", "sorry_you_feel"),
        ("We are sorry if you felt let down by the process.", "sorry_you_feel"),
        ("Please calm down and read this carefully.", "calm_down"),
        ("As I already told you, the charge stands.", "already_told"),
        ("As we explained, the charge stands.", "already_told"),
        ("Per my last email, the charge stands.", "already_told"),
        ("You should have submitted the request through the portal.", "lecturing"),
        ("You did not follow the proper procedure.", "lecturing"),
        ("Please read your lease.", "lecturing"),
        ("It is your responsibility to report leaks.", "lecturing"),
        ("The stains were your fault.", "blaming"),
        ("You caused the damage to the carpet.", "blaming"),
        ("Your request is unreasonable.", "blaming"),
    ],
)
def test_phrases_the_practice_notes_warn_against_are_flagged_with_the_words_found(phrase, code):
    flags = check_tone(GOOD.replace("The team found our charge was fair.", phrase))
    assert [flag.code for flag in flags] == [code]
    assert all(part.lower() in phrase.lower() for part in flags[0].excerpt.split(" … "))
    assert flags[0].message  # says why, for the manager


def test_sorry_you_feel_that_way_is_not_an_apology():
    text = GOOD.replace("I'm sorry you have had this trouble with your deposit.", "I'm sorry you feel that way.")
    assert codes(text) == ["sorry_you_feel", "missing_apology"]


@pytest.mark.parametrize(
    ("remove", "code"),
    [
        ("I'm sorry you have had this trouble with your deposit. ", "missing_apology"),
        ("You told us the carpet was clean when you left.", "missing_restatement"),
        ("What happens next: I will call you on Friday.", "missing_next_step"),
        ("Thank you for bringing this to us.", "missing_thanks"),
    ],
)
def test_a_letter_missing_a_required_part_is_flagged(remove, code):
    assert codes(GOOD.replace(remove, "")) == [code]


def test_quoting_the_residents_own_words_counts_as_restating_the_issue():
    text = GOOD.replace("You told us the carpet was clean when you left.",
                        "“The carpet was spotless when I handed the keys back on Friday.”")
    assert "missing_restatement" in codes(text)
    assert codes(text, resident_words=["The carpet was spotless when I handed the keys back on Friday, honestly."]) == []


def test_a_late_letter_must_apologise_for_the_delay():
    assert codes(GOOD, is_late=True) == ["late_without_apology"]
    late = GOOD.replace("Thank you", "I'm sorry this reply comes later than we promised. Thank you")
    assert codes(late, is_late=True) == []


def test_the_check_is_not_fooled_by_case_or_curly_apostrophes():
    text = GOOD.replace("The team found our charge was fair.", "AS I ALREADY TOLD YOU, you didn’t follow the rules.")
    assert codes(text) == ["already_told", "lecturing"]
