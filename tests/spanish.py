"""Reading a page or an email as a Spanish-speaking resident would: is any of it still in English?

``english_left(text, data)`` returns the English words left in ``text`` once the ``data`` the test
itself put there (a resident's name, the details they typed, a company's name) is taken out. Words
common in English and absent from Spanish are looked for, so a sentence left untranslated shows up
("Your", "the", "please"), while names, amounts and dates do not.
"""
from __future__ import annotations

import re

ENGLISH = {
    "the", "your", "you", "we", "our", "and", "please", "with", "will", "have", "has", "this", "that",
    "what", "when", "which", "who", "would", "should", "could", "from", "about", "before", "after",
    "send", "sent", "reply", "letter", "dispute", "evidence", "team", "days", "day", "date", "thank",
    "thanks", "received", "file", "files", "choose", "upload", "submit", "back", "here", "there",
    "it", "is", "are", "was", "were", "be", "been", "of", "to", "for", "or", "on", "at", "by", "if",
    "can", "may", "not", "yes", "more", "time", "manager", "resident", "company", "offer",
    "accept", "decline", "amount", "deposit", "unit", "due", "until", "open", "closed",
}
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def english_left(text: str, data: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The English words in ``text`` outside ``data`` (strings the test put in: names, typed text)."""
    for value in sorted(data, key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    return [word for word in _WORD.findall(text) if word.lower() in ENGLISH]
