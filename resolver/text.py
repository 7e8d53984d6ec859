"""Text that comes in from people, made safe to show, to put in an email header and to search by.

Names and addresses end up in ``To:`` lines and on pages other people read, so a line break or a
control character in one is refused (it would break the email, or forge a header), and invisible
format characters are removed: a right-to-left override turns ``receipt\u202efdp.jpg`` into what looks
like "receiptgpj.pdf". Numbers in a query string are read as ASCII digits only (Python's ``int``
also takes "²" and "٣"), and a search never lets ``%`` or ``_`` stand for "anything".
"""
from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators that are not control characters but break a line all the same.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
LIKE_ESCAPE = "\\"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# The zero-width non-joiner and joiner are format characters too, but Persian, Hindi and other scripts
# spell names with them; they cannot reorder what is shown.
_SPELLING_JOINERS = frozenset("\u200c\u200d")


def without_invisible(text: str) -> str:
    """``text`` without Unicode format characters (category Cf): bidirectional overrides and isolates,
    zero-width spaces, soft hyphens, byte-order marks. The joiners some scripts spell with stay."""
    return "".join(c for c in text if c in _SPELLING_JOINERS or unicodedata.category(c) != "Cf")


def line_problem(text: str, what: str = "A name") -> str | None:
    """Why ``text`` cannot be one line of a name or an address, or None when it can."""
    if any(c in _LINE_BREAKS for c in text):
        return f"{what} can't contain line breaks."
    if any(unicodedata.category(c) == "Cc" for c in text):
        return f"{what} can't contain control characters such as tabs."
    return None


def cleaned_line(text: str) -> str:
    """A one-line value as it is kept: invisible characters removed, spaces at the ends trimmed."""
    return without_invisible(text).strip()


def ascii_whole_number(text: str | None, *, low: int = 0, high: int = 10**9) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, written in ASCII digits only; else None."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(high)):
        return None  # also keeps int() from reading a million digits
    number = int(text)
    return number if low <= number <= high else None


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` anywhere, lowercased, its ``%``, ``_`` and ``\\`` taken as
    themselves (use it with ``escape=LIKE_ESCAPE``)."""
    escaped = search.replace("\x00", "").strip().lower()
    for special in (LIKE_ESCAPE, "%", "_"):
        escaped = escaped.replace(special, LIKE_ESCAPE + special)
    return f"%{escaped}%"


def cleaned_file_name(raw: str | None) -> str:
    """A file's name as sent, without folders, control or invisible characters, at most 200 characters
    (keeping its extension)."""
    name = without_invisible(re.split(r"[\\/]", raw or "")[-1])
    name = " ".join(_CONTROL.sub("", name).split()).strip(". ") or "file"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 200 - len(extension) - 1] + dot + extension) if dot and len(extension) <= 10 else name[:200]
    return name
