"""The languages Resolver speaks: a resident reads their pages, emails and letter in their own.

Words are marked for translation with Flask-Babel's ``gettext`` (``_`` in templates) and translated in
the gettext catalogs under ``resolver/translations/<tag>/LC_MESSAGES/messages.po`` (README: "Adding a
language"). A language is *spoken* when its compiled catalog ships; any other preference (a resident
recorded as preferring Korean) is answered in English until someone writes that catalog.

Which language a piece of text is in:
- a page: ``g.language`` when the view set it (the pages a resident reaches by link use the dispute's
  resident's language, see ``speak_to``), otherwise English (staff and panel pages ship in English);
- an email or a letter rendered outside a page's language: inside ``speaking(tag)``.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import Flask, g, has_app_context, has_request_context
from flask_babel import Babel, force_locale, get_locale, refresh

from .languages import DEFAULT_LANGUAGE, language_name

TRANSLATIONS = Path(__file__).resolve().parent / "translations"

# How dates and numbers are written for each spoken language: Resolver's residents live in the
# United States, so Spanish is written as in the United States ("$1,500.50", "lunes, 7 de diciembre").
_FORMAT_LOCALES = {"en": "en_US", "es": "es_US"}


@cache
def spoken_languages() -> tuple[str, ...]:
    """English, then every language whose compiled catalog ships with Resolver."""
    catalogs = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))
    return (DEFAULT_LANGUAGE, *(tag for tag in catalogs if tag != DEFAULT_LANGUAGE))


def spoken(tag: str | None) -> str:
    """The language to speak to someone who prefers ``tag``: it, when Resolver speaks it; else English."""
    return tag if tag in spoken_languages() else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language being spoken now (English outside a request or ``speaking`` block)."""
    if not has_app_context():
        return DEFAULT_LANGUAGE
    locale = get_locale()
    return spoken(locale.language if locale is not None else None)


def format_locale() -> str:
    """The Babel locale dates and numbers are written in now ("en_US", "es_US")."""
    return _FORMAT_LOCALES.get(current_language(), current_language())


@contextmanager
def speaking(tag: str | None):
    """Render what is inside in the language ``tag`` (or English, when Resolver does not speak it)."""
    with force_locale(spoken(tag)):
        yield


def speak_to(resident) -> None:
    """This page is for ``resident``: speak their language for the rest of the request (even when a
    word was already said in English earlier in it, e.g. the link's own refusal)."""
    g.language = spoken(getattr(resident, "preferred_language", None))
    refresh()


def language_choices() -> list[tuple[str, str]]:
    """The spoken languages as a resident picks one: each named in itself ("English", "Español")."""
    return [(tag, _own_name(tag)) for tag in spoken_languages()]


def _own_name(tag: str) -> str:
    from babel import Locale

    return Locale.parse(tag).get_display_name(tag).capitalize() if tag != DEFAULT_LANGUAGE else "English"


def _request_language() -> str:
    if has_request_context():
        return g.get("language") or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_request_language, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["language_choices"] = language_choices
    app.jinja_env.filters["language_name"] = language_name
