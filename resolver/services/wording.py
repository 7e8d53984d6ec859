"""The verb for the company's own words in other languages (``resolver.wording``): a supervisor's
change, kept in the company's history with each text before and after."""
from __future__ import annotations

from ..actors import Actor
from ..errors import InvalidInput
from ..models import Company
from ..wording import WORDED, english_name, other_languages, own_words
from .company_history import record_company_event, require_supervisor


def change_company_words(actor: Actor, company: Company, language: str, words: dict) -> dict:
    """Set the company's text in ``language``; an empty text is taken away (the resident then reads
    the English). Returns what changed ({key: [before, after]})."""
    require_supervisor(actor, company.id)
    if language not in other_languages():
        raise InvalidInput(f"Resolver does not speak {english_name(language)} yet, so nothing can be given in it.")
    after = _checked(words)
    before = own_words(company, language)
    changed = {key: [before.get(key, ""), value] for key, value in after.items() if before.get(key, "") != value}
    if changed:
        kept = {key: value for key, value in {**before, **after}.items() if value}
        others = {tag: given for tag, given in (company.wording or {}).items() if tag != language}
        company.wording = {**others, **({language: kept} if kept else {})}  # a new dict: JSON is saved whole
        record_company_event(actor, company.id, "words_changed", subject_kind="company", subject_id=company.id,
                             subject_label=company.name, data={"language": language, "changed": changed})
    return changed


def _checked(words: dict) -> dict[str, str]:
    unknown = set(words) - set(WORDED)
    if unknown:
        raise InvalidInput(f"There is no setting called {sorted(unknown)[0]!r} to give in another language.")
    checked = {}
    for key, value in words.items():
        called, limit = WORDED[key]
        text = (value or "").strip()
        if len(text) > limit:
            raise InvalidInput(f"{called} must be at most {limit:,} characters.", field=key)
        checked[key] = text
    return checked
