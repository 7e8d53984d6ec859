"""The languages a resident may prefer, by tag: the one list the forms, the API and the verbs offer.

Recorded for now; Resolver speaks English until its emails and pages are translated (Spanish first).
"""
from __future__ import annotations

DEFAULT_LANGUAGE = "en"

# Tag -> the name a member of staff picks it by (with the language's own name for the resident's sake).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish (español)",
    "zh": "Chinese (中文)",
    "vi": "Vietnamese (Tiếng Việt)",
    "tl": "Tagalog",
    "ko": "Korean (한국어)",
    "ar": "Arabic (العربية)",
    "fr": "French (français)",
}


def language_name(tag: str) -> str:
    return LANGUAGES.get(tag, tag)
