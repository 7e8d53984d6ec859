"""Settings → dispute categories: how each kind of dispute is named in a letter, what money given back
means for it, the manager's task and the usual token, with a line showing how a letter will read.
A supervisor changes a category's wording, adds one, archives or restores one, or sets one of
Resolver's own back to its wording; each is one verb of ``services.categories``, kept in the
company's history. Beside the English, the phrases a resident reads may be given in each other
language Resolver speaks (``services.category_wording``). A refused change shows the page with its
message and changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_wtf import FlaskForm
from wtforms import Form, StringField
from wtforms.validators import AnyOf

from ...money import format_cents
from ...services import categories
from ...i18n import current_language
from ...languages import DEFAULT_LANGUAGE
from ...services.categories import WORDED_PER_LANGUAGE, CategoryPhrases
from ...services.category_wording import change_category_wording
from ...wording import english_name, other_languages
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor, supervisor_required
from .forms import TextField, refuse_unless_valid
from .settings import _done, _refused
from .settings_forms import beside_english, words_sent

EXAMPLE_CENTS = 5000  # the amount the example lines show


class CategoryForm(FlaskForm):
    """A category's phrases, as typed (the verb checks what each must be)."""

    label = TextField(80)
    matter = TextField(200)
    concession = TextField(200)
    task = TextField(200)
    token = TextField(80)

    @property
    def phrases(self) -> dict[str, str]:
        return {name: self[name].data for name in categories.PHRASES}


class CategoryWordingForm(Form):
    """A category's phrases a resident reads, in one language besides English."""

    label = TextField(80)
    matter = TextField(200)
    concession = TextField(200)
    token = TextField(80)


beside_english(CategoryForm, CategoryWordingForm)


class CategoryChangeForm(CategoryForm):
    change = StringField(validators=[AnyOf(["save", "archive", "restore", "reset"], message="Choose what to change.")])


@dataclass(frozen=True)
class CategoryRow:
    """One category on the Settings page, with how a letter and a task will read it."""

    category: CategoryPhrases
    is_resolvers: bool  # one of Resolver's own (it can go back to Resolver's wording)
    is_changed: bool  # worded by the company, not as Resolver ships it
    # How residents read it in each other language, and the company's own wording in each (to change).
    spoken_in: dict[str, CategoryPhrases] = field(default_factory=dict)
    own_wording: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def sorry_line(self) -> str:
        return f"I'm sorry you have had this trouble with {self.category.matter}."

    @property
    def concession_line(self) -> str:
        return self.category.concession_line(format_cents(EXAMPLE_CENTS))

    @property
    def task_line(self) -> str:
        return self.category.concession_task(format_cents(EXAMPLE_CENTS))


def category_rows() -> list[CategoryRow]:
    """The company's categories, archived ones too, as the Settings page lists them (in English, with
    how residents read each in the other languages)."""
    spoken_in = {tag: {c.key: c for c in categories.all_categories(g.company, tag)} for tag in other_languages()}
    wording = categories.own_wording(g.company)
    rows = []
    for category in categories.all_categories(g.company, DEFAULT_LANGUAGE):
        default = categories.default_named(category.key)
        own = wording.get(category.key, {})
        rows.append(CategoryRow(
            category, is_resolvers=default is not None,
            is_changed=default is not None and (default.phrases != category.phrases or bool(own)),
            spoken_in={tag: known[category.key] for tag, known in spoken_in.items()}, own_wording=own))
    return rows


@blueprint.context_processor
def _category_settings():
    return {"category_rows": category_rows, "other_languages": other_languages(),
            "worded_per_language": WORDED_PER_LANGUAGE, "english_name": english_name}


@blueprint.app_template_filter("category_phrases")
def category_phrases(dispute) -> CategoryPhrases:
    """``phrases_of(dispute)`` for pages and emails that list disputes: the company's categories are
    read once a request (or job) for each language, however many disputes it shows."""
    return _category_phrases(dispute, current_language())


def _category_phrases(dispute, language: str) -> CategoryPhrases:
    known = g.setdefault("_categories_of", {})
    if (dispute.company_id, language) not in known:
        known[dispute.company_id, language] = categories.all_categories(dispute.company, language)
    return categories.category_among(known[dispute.company_id, language], dispute.category)


@blueprint.app_template_filter("category_label")
def category_label(dispute) -> str:
    """A dispute's category as staff read it (in English): its name, also for free text typed before
    categories existed."""
    return _category_phrases(dispute, DEFAULT_LANGUAGE).label


@blueprint.post("/settings/categories")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_category_add():
    form, actor = refuse_unless_valid(CategoryForm()), current_actor()
    added = categories.add_category(actor, g.company, form.phrases)
    for language, phrases in words_sent(form).items():
        change_category_wording(actor, g.company, added.key, language, phrases)
    return _done(f"“{added.label}” is offered for new disputes now.", "categories")


@blueprint.post("/settings/categories/<key>")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_category_update(key: str):
    form, actor, company = refuse_unless_valid(CategoryChangeForm()), current_actor(), g.company
    change = form.change.data
    if change == "save":
        changed = [categories.change_category(actor, company, key, form.phrases)]
        changed += [change_category_wording(actor, company, key, language, phrases)
                    for language, phrases in words_sent(form).items()]
        message = ("Saved. Letters written from now on use this wording; letters already sent keep theirs."
                   if any(changed) else "Nothing to change: the wording was already so.")
    elif change == "archive":
        archived = categories.archive_category(actor, company, key)
        message = f"“{archived.label}” is no longer offered for new disputes; disputes that use it keep it."
    elif change == "restore":
        restored = categories.restore_category(actor, company, key)
        message = f"“{restored.label}” is offered for new disputes again."
    elif change == "reset":
        categories.reset_category(actor, company, key)
        message = "Back to Resolver's wording."
    return _done(message, "categories")
