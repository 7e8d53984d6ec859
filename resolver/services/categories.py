"""The kinds of dispute and how Resolver speaks of each: in a letter's sentence ("the noise and your
neighbours", never "your noise"), what money given back means for it (back from the deposit, a credit
on the next rent, a waived fee), what the manager's task says, and the usual token.

The defaults ship in ``resolver/categories.yaml``. A company may change their phrases and add kinds
of its own (``DisputeCategory`` rows, changed by a supervisor and kept in the company's history). A
dispute's ``category`` holds a category's key; disputes written before categories existed hold
whatever staff typed, which is matched against each category's label and other names, and read as
"other" when nothing matches.

The phrases a resident reads come in the current language (``i18n.current_language()``): the company's
own wording in it if it gave one, else Resolver's (while the company has not reworded the category),
else the company's English, whose ``language`` then says "en" so a letter can say it was left in
English. The manager's task and the other names are staff's, in English.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import select

from ..actors import Actor
from ..clock import now_utc
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..i18n import current_language, spoken
from ..languages import DEFAULT_LANGUAGE
from ..models import Company, Dispute, DisputeCategory
from .company_history import record_company_event, require_supervisor

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "categories.yaml"
FALLBACK = "other"
# The phrases a company may change, what each is called in a message, and its longest length.
PHRASES = {
    "label": ("The name", 80),
    "matter": ("How a letter names the matter", 200),
    "concession": ("What money given back means", 200),
    "task": ("The manager's task", 200),
    "token": ("The usual token", 80),
}
# The phrases a resident reads, which a company may give in each language Resolver speaks.
WORDED_PER_LANGUAGE = ("label", "matter", "concession", "token")
AMOUNT = "{amount}"
ADDED_AFTER = 100  # added categories come after Resolver's own, in the order they were added


@dataclass(frozen=True)
class CategoryPhrases:
    """How one kind of dispute is spoken of."""

    key: str
    label: str
    matter: str
    concession: str
    task: str
    token: str
    words: tuple[str, ...] = ()
    is_archived: bool = False
    language: str = DEFAULT_LANGUAGE  # the language the phrases a resident reads are actually in

    def concession_line(self, amount: str) -> str:
        """"$50 back from your security deposit": the concession as the resident reads it."""
        return f"{amount} {self.concession}"

    def concession_task(self, amount: str) -> str:
        """"Return $50 from the security deposit": the manager's step to carry it out."""
        return self.task.format(amount=amount)

    @property
    def phrases(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in PHRASES}

    @property
    def resident_phrases(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in WORDED_PER_LANGUAGE}


@cache
def _shipped() -> dict:
    """``categories.yaml`` as read: each category's English phrases, with a row per other language."""
    return yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))


@cache
def default_categories() -> tuple[CategoryPhrases, ...]:
    """The categories Resolver ships with, in the order they are offered (in English)."""
    return tuple(
        CategoryPhrases(key=key, label=entry["label"], matter=entry["matter"], concession=entry["concession"],
                        task=entry["task"], token=entry["token"], words=tuple(entry.get("words", ())))
        for key, entry in _shipped().items()
    )


def default_named(key: str) -> CategoryPhrases | None:
    return next((c for c in default_categories() if c.key == key), None)


@cache
def default_wording() -> dict[str, dict[str, dict[str, str]]]:
    """Resolver's own phrases in the other languages it speaks: {key: {language: {phrase: text}}}."""
    return {key: {tag: {name: entry[tag][name] for name in WORDED_PER_LANGUAGE}
                  for tag in entry if isinstance(entry[tag], dict)}
            for key, entry in _shipped().items()}


# Reading ------------------------------------------------------------------------------------------

def _rows(company_id: int) -> list[DisputeCategory]:
    return list(db.session.scalars(select(DisputeCategory).where(DisputeCategory.company_id == company_id)))


def _phrases(row: DisputeCategory, words: tuple[str, ...] = ()) -> CategoryPhrases:
    return CategoryPhrases(key=row.key, label=row.label, matter=row.matter, concession=row.concession,
                           task=row.task, token=row.token, words=words, is_archived=row.archived_dt is not None)


def all_categories(company: Company, language: str | None = None) -> list[CategoryPhrases]:
    """Every category of the company, archived ones too: Resolver's own (in the company's words where
    it changed them), then those it added, and "other" last; in ``language`` (else the current one)."""
    language = spoken(language) if language else current_language()
    rows = {row.key: row for row in _rows(company.id)}
    ordered = []
    for position, default in enumerate(default_categories()):
        row = rows.pop(default.key, None)
        english = _phrases(row, default.words) if row else default
        ordered.append((position, _spoken(english, row, language, is_resolvers=True)))
    ordered += [(ADDED_AFTER + row.position, _spoken(_phrases(row), row, language)) for row in rows.values()]
    ordered.sort(key=lambda item: (item[1].key == FALLBACK, item[0]))
    return [category for _, category in ordered]


def _spoken(english: CategoryPhrases, row: DisputeCategory | None, language: str, *,
            is_resolvers: bool = False) -> CategoryPhrases:
    """The category's phrases in ``language``: the company's wording in it, else Resolver's while the
    company has not reworded the category, else its English (saying so). Its English name stays one
    of its other names, so free text typed in English still finds it."""
    if language == DEFAULT_LANGUAGE:
        return english
    given = (row.wording or {}).get(language) if row else None
    if not given and is_resolvers and not _is_reworded(english):
        given = default_wording().get(english.key, {}).get(language)
    if not given:
        return english
    return replace(english, **{name: given[name] for name in WORDED_PER_LANGUAGE}, language=language,
                   words=(*english.words, english.label))


def _is_reworded(english: CategoryPhrases) -> bool:
    """Whether the company changed what a resident reads of one of Resolver's categories."""
    default = default_named(english.key)
    return default is None or default.resident_phrases != english.resident_phrases


def categories_of(company: Company, language: str | None = None) -> list[CategoryPhrases]:
    """The categories a company offers when a dispute is opened, with its own phrases."""
    return [category for category in all_categories(company, language) if not category.is_archived]


def phrases_of(dispute: Dispute, language: str | None = None) -> CategoryPhrases:
    """How this dispute's category is spoken of, in ``language`` (else the current one); "other" when
    its category is unknown."""
    return category_named(dispute.company, dispute.category, language)


def category_named(company: Company, name: str, language: str | None = None) -> CategoryPhrases:
    """The category with this key, label or other name (any case), else "other"."""
    return category_among(all_categories(company, language), name)


def own_wording(company: Company) -> dict[str, dict[str, dict[str, str]]]:
    """The company's own phrases in other languages, by category: {key: {language: {phrase: text}}}."""
    return {row.key: dict(row.wording) for row in _rows(company.id) if row.wording}


def category_among(categories: list[CategoryPhrases], name: str) -> CategoryPhrases:
    """``category_named`` for one company's ``categories`` read once (``all_categories``), for a page or
    report that names the category of many disputes."""
    return find_category(categories, name) or next(c for c in categories if c.key == FALLBACK)


def find_category(categories: list[CategoryPhrases], name: str) -> CategoryPhrases | None:
    """The category of ``categories`` with this key, label or other name (any case), or None."""
    wanted = " ".join((name or "").split()).casefold()
    for category in categories:
        if wanted in (category.key.casefold(), category.label.casefold()):
            return category
    for category in categories:
        if wanted in (word.casefold() for word in category.words):
            return category
    return None


def category_for_new_dispute(company: Company, name: str) -> str:
    """The key a new dispute stores for the category named (its key, label or another name for it);
    "other" when none is named. Refused for a name no offered category has."""
    if not (name or "").strip():
        return FALLBACK
    category = find_category(all_categories(company, DEFAULT_LANGUAGE), name)
    offered = [c.key for c in categories_of(company, DEFAULT_LANGUAGE)]
    if category is None:
        raise InvalidInput(f"There is no category called “{name.strip()}”. Choose one of: {', '.join(offered)}.",
                           field="category", allowed=offered)
    if category.is_archived:
        raise InvalidInput(f"The category “{category.label}” is archived, so new disputes cannot use it. "
                           f"Choose another, or restore it in Settings.", field="category", allowed=offered)
    return category.key


# Changing (a supervisor's, kept in the company's history) -----------------------------------------

def change_category(actor: Actor, company: Company, key: str, phrases: dict) -> dict:
    """Set a category's phrases; returns what changed ({phrase: [before, after]}). Letters written
    from now on use them; letters already sent keep their words."""
    require_supervisor(actor, company.id)
    category = _category(company, key)
    after = _checked(company, {**category.phrases, **phrases}, key=key)
    changed = _store(company, category, after)
    if changed:
        _record(actor, company, "category_changed", after["label"], key, changed=changed)
    return changed


def add_category(actor: Actor, company: Company, phrases: dict) -> CategoryPhrases:
    """A category of the company's own, offered for new disputes from now on; its key is made from its name."""
    require_supervisor(actor, company.id)
    checked = _checked(company, phrases)
    rows = _rows(company.id)
    key = _key_from(checked["label"], {c.key for c in all_categories(company, DEFAULT_LANGUAGE)})
    added = sum(1 for row in rows if default_named(row.key) is None)
    db.session.add(DisputeCategory(company_id=company.id, key=key, position=added, **checked))
    db.session.flush()
    _record(actor, company, "category_added", checked["label"], key, after=checked)
    return next(c for c in all_categories(company, DEFAULT_LANGUAGE) if c.key == key)


def archive_category(actor: Actor, company: Company, key: str) -> CategoryPhrases:
    """No longer offered for new disputes; the disputes that use it keep speaking of it the same way."""
    require_supervisor(actor, company.id)
    category = _category(company, key)
    if key == FALLBACK:
        raise InvalidInput(f"“{category.label}” is where every other matter goes, so it cannot be archived.",
                           field="category")
    return _set_archived(actor, company, category, archived=True)


def restore_category(actor: Actor, company: Company, key: str) -> CategoryPhrases:
    """Offered for new disputes again."""
    require_supervisor(actor, company.id)
    return _set_archived(actor, company, _category(company, key), archived=False)


def reset_category(actor: Actor, company: Company, key: str) -> dict:
    """One of Resolver's own categories back to Resolver's wording; returns what changed."""
    require_supervisor(actor, company.id)
    category, default = _category(company, key), default_named(key)
    if default is None:
        raise InvalidInput(f"“{category.label}” is your company's own category: it has no other wording to go "
                           f"back to.", field="category")
    _checked(company, default.phrases, key=key)  # its default name may be taken by another since
    changed = _store(company, category, default.phrases)
    wording = _forget_wording(company, key)
    if changed or wording:
        _record(actor, company, "category_reset", default.label, key, changed=changed,
                **({"wording_before": wording} if wording else {}))
    return changed


def _forget_wording(company: Company, key: str) -> dict:
    """The company's wording of the category in other languages taken away; returns what it was."""
    row = db.session.scalars(select(DisputeCategory).where(
        DisputeCategory.company_id == company.id, DisputeCategory.key == key)).first()
    wording = dict(row.wording or {}) if row else {}
    if wording:
        row.wording = {}
        db.session.flush()
    return wording


def _category(company: Company, key: str) -> CategoryPhrases:
    category = next((c for c in all_categories(company, DEFAULT_LANGUAGE) if c.key == key), None)
    if category is None:
        raise NotFound("There is no such category.")
    return category


def _row(company: Company, category: CategoryPhrases) -> DisputeCategory:
    """The company's own row for the category, made from Resolver's wording the first time it changes."""
    row = db.session.scalars(select(DisputeCategory).where(
        DisputeCategory.company_id == company.id, DisputeCategory.key == category.key)).first()
    if row is None:
        row = DisputeCategory(company_id=company.id, key=category.key, position=0, **category.phrases)
        db.session.add(row)
    return row


def _store(company: Company, category: CategoryPhrases, phrases: dict) -> dict:
    changed = {name: [category.phrases[name], value] for name, value in phrases.items()
               if category.phrases[name] != value}
    if changed:
        row = _row(company, category)
        for name, (_, value) in changed.items():
            setattr(row, name, value)
        db.session.flush()
    return changed


def _set_archived(actor: Actor, company: Company, category: CategoryPhrases, *, archived: bool) -> CategoryPhrases:
    if category.is_archived != archived:
        _row(company, category).archived_dt = now_utc() if archived else None
        db.session.flush()
        _record(actor, company, "category_archived" if archived else "category_restored", category.label,
                category.key)
    return replace(category, is_archived=archived)


def _record(actor: Actor, company: Company, action: str, label: str, key: str, **data) -> None:
    record_company_event(actor, company.id, action, subject_kind="company", subject_id=company.id,
                         subject_label=label, data={"category": key, **data})


# Checking phrases ---------------------------------------------------------------------------------

def _checked(company: Company, phrases: dict, *, key: str | None = None) -> dict:
    """The phrases trimmed and checked, or refused with the first problem (naming the phrase)."""
    unknown = set(phrases) - set(PHRASES)
    if unknown:
        raise InvalidInput(f"A category has no phrase called {sorted(unknown)[0]!r}.")
    checked = {}
    for name, (called, limit) in PHRASES.items():
        value = " ".join(str(phrases.get(name) or "").split())
        if not value:
            raise InvalidInput(f"{called} cannot be empty.", field=name)
        if len(value) > limit:
            raise InvalidInput(f"{called} must be at most {limit} characters.", field=name)
        checked[name] = value
    if AMOUNT not in checked["task"] or "{" in checked["task"].replace(AMOUNT, "") \
            or "}" in checked["task"].replace(AMOUNT, ""):
        raise InvalidInput(f"The manager's task must say where the amount goes, as {AMOUNT} (for example "
                           f"“Credit {AMOUNT} on the next rent”), and use no other braces.", field="task")
    label = checked["label"].casefold()
    if any(c.label.casefold() == label for c in all_categories(company, DEFAULT_LANGUAGE) if c.key != key):
        raise InvalidInput(f"Another category is already called “{checked['label']}”.", field="label")
    return checked


def _key_from(label: str, taken: set[str]) -> str:
    """A short key made from a new category's name ("Parking permits" -> "parking_permits")."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().casefold()
    base = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:32] or "category"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key

