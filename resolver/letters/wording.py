"""How a letter counts, names the supervisor, and speaks of words people typed, in the language it is written in."""
from __future__ import annotations

import re

from flask_babel import gettext as _

from ..i18n import current_language

NUMBER_WORDS = {
    "en": {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"},
    "es": {1: "uno", 2: "dos", 3: "tres", 4: "cuatro", 5: "cinco", 6: "seis", 7: "siete", 8: "ocho", 9: "nueve"},
}
# What an English draft says where a compromise gave no amount: the manager is asked (a note) to fill it in.
AMOUNT_TO_FILL_IN = "[amount to fill in]"


def number_word(n: int) -> str:
    """"three" for 3 (numbers past nine as figures), in the language spoken now: how a letter counts people."""
    return NUMBER_WORDS.get(current_language(), NUMBER_WORDS["en"]).get(n, str(n))


def to_fill_in() -> str:
    """The gap a draft leaves for the manager, in the language spoken now ("[amount to fill in]")."""
    return _("[amount to fill in]")


# Words typed by people (the manager's paragraphs, the team's reasons, the company's settings) are in
# whatever language they typed them in. A letter in another language says so where they look English,
# rather than mixing languages silently; these words tell English from Spanish in a paragraph.
_ENGLISH_WORDS = frozenset("the and you your we our is are was were will have has this that with for of to it "
                           "not be please thank would can i my they their been what which".split())
_SPANISH_WORDS = frozenset("el la los las de que y en un una por para con su sus usted es se lo le del al nos "
                           "mi muy como pero más este esta".split())


def looks_english(text: str) -> bool:
    """True when ``text`` (quotations aside) reads as English rather than Spanish."""
    words = re.findall(r"[a-záéíóúñü']+", re.sub(r"“[^”]*”|\"[^\"]*\"", " ", text.lower()))
    english = sum(word in _ENGLISH_WORDS for word in words)
    return english > 0 and english > sum(word in _SPANISH_WORDS for word in words)


def typed_in_english(text: str) -> bool:
    """Text someone typed that a letter in another language than English must mark as English."""
    return current_language() != "en" and looks_english(text)


def how_to_reach(name: str, phone: str, email: str) -> str:
    """"You can reach Dana Reyes, who supervises this office, on 555-0100 or at dana@…." (or nothing)"""
    if not name:
        return ""
    if phone and email:
        return _("You can reach %(name)s, who supervises this office, on %(phone)s or at %(email)s.",
                 name=name, phone=phone, email=email)
    if phone:
        return _("You can reach %(name)s, who supervises this office, on %(phone)s.", name=name, phone=phone)
    if email:
        return _("You can reach %(name)s, who supervises this office, at %(email)s.", name=name, email=email)
    return _("You can reach %(name)s, who supervises this office.", name=name)

