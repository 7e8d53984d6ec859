"""The kinds of dispute and how Resolver speaks of each: in a letter's sentence ("the noise and your
neighbours", never "your noise"), what money given back means for it (back from the deposit, a credit
on the next rent, a waived fee), what the manager's task says, and the usual token.

The defaults ship in ``resolver/categories.yaml``. A dispute's ``category`` holds a category's key;
disputes written before categories existed hold whatever staff typed, which is matched against each
category's label and other names, and read as "other" when nothing matches.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ..models import Company, Dispute

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "categories.yaml"
FALLBACK = "other"


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

    def concession_line(self, amount: str) -> str:
        """"$50 back from your security deposit": the concession as the resident reads it."""
        return f"{amount} {self.concession}"

    def concession_task(self, amount: str) -> str:
        """"Return $50 from the security deposit": the manager's step to carry it out."""
        return self.task.format(amount=amount)


@cache
def default_categories() -> tuple[CategoryPhrases, ...]:
    """The categories Resolver ships with, in the order they are offered."""
    data = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    return tuple(
        CategoryPhrases(key=key, label=entry["label"], matter=entry["matter"], concession=entry["concession"],
                        task=entry["task"], token=entry["token"], words=tuple(entry.get("words", ())))
        for key, entry in data.items()
    )


def categories_of(company: Company) -> list[CategoryPhrases]:
    """The categories a company offers when a dispute is opened, with its own phrases."""
    return list(default_categories())


def phrases_of(dispute: Dispute) -> CategoryPhrases:
    """How this dispute's category is spoken of; "other" when its category is unknown."""
    return category_named(dispute.company, dispute.category)


def category_named(company: Company, name: str) -> CategoryPhrases:
    """The category with this key, label or other name (any case), else "other"."""
    wanted = " ".join((name or "").split()).casefold()
    categories = categories_of(company)
    for category in categories:
        if wanted in (category.key.casefold(), category.label.casefold()):
            return category
    for category in categories:
        if wanted in (word.casefold() for word in category.words):
            return category
    return next(c for c in categories if c.key == FALLBACK)
