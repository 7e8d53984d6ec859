"""Settings → dispute categories: how each kind of dispute is named in a letter, what money given back
means for it, the manager's task and the usual token, with a line showing how a letter will read.
A supervisor changes a category's wording, adds one, archives or restores one, or sets one of
Resolver's own back to its wording; each is one verb of ``services.categories``, kept in the
company's history. A refused change shows the page with its message and changes nothing."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import AnyOf

from ...money import format_cents
from ...services import categories
from ...services.categories import CategoryPhrases
from ..unit_of_work import unit_of_work
from . import blueprint
from .auth import current_actor, supervisor_required
from .forms import TextField, refuse_unless_valid
from .settings import _done, _refused

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


class CategoryChangeForm(CategoryForm):
    change = StringField(validators=[AnyOf(["save", "archive", "restore", "reset"], message="Choose what to change.")])


@dataclass(frozen=True)
class CategoryRow:
    """One category on the Settings page, with how a letter and a task will read it."""

    category: CategoryPhrases
    is_resolvers: bool  # one of Resolver's own (it can go back to Resolver's wording)
    is_changed: bool  # worded by the company, not as Resolver ships it

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
    """The company's categories, archived ones too, as the Settings page lists them."""
    rows = []
    for category in categories.all_categories(g.company):
        default = categories.default_named(category.key)
        rows.append(CategoryRow(category, is_resolvers=default is not None,
                                is_changed=default is not None and default.phrases != category.phrases))
    return rows


@blueprint.context_processor
def _category_settings():
    return {"category_rows": category_rows}


@blueprint.app_template_filter("category_phrases")
def category_phrases(dispute) -> CategoryPhrases:
    """``phrases_of(dispute)`` for pages and emails that list disputes: the company's categories are
    read once a request (or job), however many disputes it shows."""
    known = g.setdefault("_categories_of", {})
    if dispute.company_id not in known:
        known[dispute.company_id] = categories.all_categories(dispute.company)
    return categories.category_among(known[dispute.company_id], dispute.category)


@blueprint.app_template_filter("category_label")
def category_label(dispute) -> str:
    """A dispute's category as staff read it: its name, also for free text typed before categories existed."""
    return category_phrases(dispute).label


@blueprint.post("/settings/categories")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_category_add():
    form = refuse_unless_valid(CategoryForm())
    added = categories.add_category(current_actor(), g.company, form.phrases)
    return _done(f"“{added.label}” is offered for new disputes now.", "categories")


@blueprint.post("/settings/categories/<key>")
@supervisor_required
@unit_of_work(refused=_refused)
def settings_category_update(key: str):
    form, actor, company = refuse_unless_valid(CategoryChangeForm()), current_actor(), g.company
    change = form.change.data
    if change == "save":
        changed = categories.change_category(actor, company, key, form.phrases)
        message = ("Saved. Letters written from now on use this wording; letters already sent keep theirs."
                   if changed else "Nothing to change: the wording was already so.")
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
