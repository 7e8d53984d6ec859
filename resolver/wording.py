"""The company's own words a resident reads, in the resident's language: the name of its outside
mediation service and how to reach it. English is what the company types in Settings; beside it, a
supervisor may give the same text in each other language Resolver speaks (kept in ``Company.wording``;
the verb is ``services.wording.change_company_words``). Where a language was left out, the resident
reads the English, and ``company_words`` says so (its ``language`` is "en"), so a letter can tell the
resident rather than mix languages without a word. Category phrases work the same way
(``services.categories``).
"""
from __future__ import annotations

from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

from .i18n import current_language, spoken, spoken_languages
from .languages import DEFAULT_LANGUAGE

# The company's text that may be given per language: what each is called in a message, its longest length.
WORDED = {
    "mediation_service_name": ("The mediation service's name", 200),
    "mediation_service_contact": ("How to reach the mediation service", 2000),
}


@dataclass(frozen=True)
class Words:
    """Some of the company's own text, and the language it is actually in."""

    text: str
    language: str

    def __str__(self) -> str:
        return self.text


def other_languages() -> tuple[str, ...]:
    """The languages Resolver speaks besides English: the company may give its own words in each."""
    return tuple(tag for tag in spoken_languages() if tag != DEFAULT_LANGUAGE)


def english_name(tag: str) -> str:
    """A language as staff read its name: "Spanish" (the tag itself when Babel knows no such language)."""
    try:
        return Locale.parse(tag).english_name
    except (ValueError, TypeError, UnknownLocaleError):
        return tag or ""


def company_words(company, key: str, language: str | None = None) -> Words:
    """The company's text ``key`` (one of ``WORDED``) in ``language`` (the current language when not
    given): its own wording in that language if it gave one, else its English with language "en".
    A wording in another language stands for the English: with no English text there is none."""
    if key not in WORDED:
        raise KeyError(key)
    language = spoken(language) if language else current_language()
    english = (getattr(company, key) or "").strip()
    given = own_words(company, language).get(key, "")
    if language != DEFAULT_LANGUAGE and english and given:
        return Words(given, language)
    return Words(english, DEFAULT_LANGUAGE)


def own_words(company, language: str) -> dict[str, str]:
    """What the company gave in ``language`` ({key: text}), as Settings shows it to change."""
    return dict((company.wording or {}).get(language) or {})
