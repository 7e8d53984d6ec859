"""A category's phrases in the other languages Resolver speaks (``categories.WORDED_PER_LANGUAGE``):
a supervisor gives them beside the English in Settings, each change kept in the company's history
with every phrase before and after."""
from __future__ import annotations

from ..actors import Actor
from ..errors import InvalidInput
from ..extensions import db
from ..models import Company
from ..wording import english_name, other_languages
from .categories import PHRASES, WORDED_PER_LANGUAGE, _category, _record, _row, all_categories
from .company_history import require_supervisor


def change_category_wording(actor: Actor, company: Company, key: str, language: str, phrases: dict) -> dict:
    """Set how a category speaks to residents in ``language`` (one Resolver speaks besides English):
    every phrase a resident reads, or none, which takes the company's wording in it away (residents
    then read Resolver's, or the company's English). Returns what changed ({phrase: [before, after]})."""
    require_supervisor(actor, company.id)
    if language not in other_languages():
        raise InvalidInput(f"Resolver does not speak {english_name(language)} yet, so a category cannot be "
                           f"worded in it.")
    category = _category(company, key)
    after = _checked_wording(company, key, language, phrases)
    row = _row(company, category)
    before = (row.wording or {}).get(language, {})
    changed = {name: [before.get(name, ""), after.get(name, "")] for name in WORDED_PER_LANGUAGE
               if before.get(name, "") != after.get(name, "")}
    if changed:
        others = {tag: given for tag, given in (row.wording or {}).items() if tag != language}
        row.wording = {**others, **({language: after} if after else {})}  # a new dict: JSON is saved whole
        db.session.flush()
        _record(actor, company, "category_worded", category.label, key, language=language, changed=changed)
    return changed


def _checked_wording(company: Company, key: str, language: str, phrases: dict) -> dict:
    """A category's phrases in ``language`` trimmed and checked: all of them, or none ({})."""
    unknown = set(phrases) - set(WORDED_PER_LANGUAGE)
    if unknown:
        raise InvalidInput(f"A category has no phrase called {sorted(unknown)[0]!r} in other languages.")
    checked = {name: " ".join(str(phrases.get(name) or "").split()) for name in WORDED_PER_LANGUAGE}
    if not any(checked.values()):
        return {}
    in_words = english_name(language)
    for name, value in checked.items():
        called, limit = PHRASES[name]
        if not value:
            raise InvalidInput(f"{called} in {in_words} cannot be empty: give every phrase in {in_words}, or "
                               f"leave them all empty.", field=name)
        if len(value) > limit:
            raise InvalidInput(f"{called} in {in_words} must be at most {limit} characters.", field=name)
    label = checked["label"].casefold()
    if any(c.label.casefold() == label for c in all_categories(company, language) if c.key != key):
        raise InvalidInput(f"Another category is already called “{checked['label']}” in {in_words}.", field="label")
    return checked
