"""The catalogs: every word Resolver marks is in each language's catalog, translated, and compiled.

Adding words to a page or an email and forgetting `bash scripts/translations.sh` fails here, as does a
catalog with an untranslated or fuzzy entry (a resident would read English in the middle of Spanish).
"""
from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from babel.messages import extract
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from resolver.i18n import TRANSLATIONS, spoken_languages

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [tag for tag in spoken_languages() if tag != "en"]
KEYWORDS = {**extract.DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _catalog(tag: str):
    with open(TRANSLATIONS / tag / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=tag)


def _marked_in_the_code() -> set:
    config = configparser.RawConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = [(pattern.split(":", 1)[1].strip(), pattern.split(":", 1)[0].strip())
                  for pattern in config.sections()]
    found = set()
    for _filename, _lineno, message, _comments, context in extract.extract_from_dir(
            ROOT, method_map, keywords=KEYWORDS):
        found.add((message if isinstance(message, str) else message[0], context))
    return found


def test_spanish_is_spoken():
    assert "es" in spoken_languages()


@pytest.mark.parametrize("tag", TRANSLATED)
def test_every_entry_is_translated_and_none_is_fuzzy(tag):
    catalog = _catalog(tag)
    empty = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert empty == [], f"untranslated in {tag}: run scripts/translations.sh and translate these"
    assert fuzzy == [], f"fuzzy in {tag}: check these translations and remove the fuzzy mark"


@pytest.mark.parametrize("tag", TRANSLATED)
def test_the_catalog_holds_every_word_the_code_marks(tag):
    in_catalog = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in _catalog(tag) if m.id}
    missing = sorted(str(entry[0]) for entry in _marked_in_the_code() - in_catalog)
    assert missing == [], f"not yet in the {tag} catalog: run bash scripts/translations.sh"


@pytest.mark.parametrize("tag", TRANSLATED)
def test_the_compiled_catalog_is_the_catalog(tag):
    with open(TRANSLATIONS / tag / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(mo) if m.id}
    written = {_key(m.id): _key(m.string) for m in _catalog(tag) if m.id and not m.fuzzy}
    assert compiled == written, f"messages.mo is older than messages.po: run bash scripts/translations.sh"


def _key(text):
    """A message's words as one value, a plural's forms included (a list in a .mo, a tuple in a .po)."""
    return tuple(text) if isinstance(text, (list, tuple)) else text
