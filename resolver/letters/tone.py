"""The tone check: what the practice notes warn against, and what every reply must contain.

The check advises; it does not forbid. A manager may send a letter with a blocking finding with a
reason, and that reason is kept. The rules (phrases to avoid with a kinder way to say each, what
counts as an apology and what only sounds like one, what marks each part of a letter) are data, in
``tone_rules.yaml`` beside this module, one set per language: a letter is read with the rules of the
language it is written in (English's, for a language without its own). Phrases are matched
case-insensitively on the words the resident will read.

Two checks: ``check_tone`` reads any text written to a resident (a letter's words, an email);
``check_letter`` reads a whole outcome letter as the resident will get it, frame and all, for the
parts a written outcome must have.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import yaml

from .wording import looks_english

RULES_FILE = Path(__file__).with_name("tone_rules.yaml")


@dataclass(frozen=True)
class ToneFlag:
    code: str
    message: str
    excerpt: str = ""
    kinder: str = ""
    is_blocking: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Avoid:
    code: str
    patterns: tuple[re.Pattern, ...]
    why: str
    kinder: str


@dataclass(frozen=True)
class ToneRules:
    language: str
    avoid: tuple[_Avoid, ...]
    markers: dict[str, tuple[re.Pattern, ...]]
    readability: dict

    def found(self, kind: str, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.markers[kind])


_KINDS = ("apology", "not_apology", "restatement", "next_step", "thanks", "late", "feedback", "options",
          "date", "ladder", "mediation", "gap")


@cache
def _rules_file() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


@cache
def rules(language: str = "en") -> ToneRules:
    """The rules for text in ``language`` (English's for a language that has none), compiled once."""
    data = _rules_file()
    language = language if language in data else "en"
    data = data[language]

    def compiled(patterns) -> tuple[re.Pattern, ...]:
        return tuple(re.compile(p, re.I) for p in patterns)

    avoid = tuple(_Avoid(rule["code"], compiled(rule["patterns"]), rule["why"].strip(), rule["kinder"].strip())
                  for rule in data["avoid"])
    return ToneRules(language, avoid, {kind: compiled(data[kind]) for kind in _KINDS}, data["readability"])


def _plain(text: str) -> str:
    """Curly apostrophes read as straight ones, so the rules spell each phrase once."""
    return text.replace("’", "'").replace("‘", "'")


# Any text to a resident ---------------------------------------------------------------------------

def check_tone(text: str, *, resident_words: list[str] = (), is_late: bool = False,
               language: str = "en") -> list[ToneFlag]:
    """Flags for ``text`` (written in ``language``): phrases to avoid, then the parts a reply must not
    leave out.

    ``resident_words`` are what the resident wrote (the issue, their details): quoting a good piece
    of them counts as restating the issue. ``is_late`` asks for an apology for the delay.
    """
    the_rules = rules(language)
    text = _plain(text)
    flags, remaining = _phrases_to_avoid(text, the_rules)
    if the_rules.language != "en":
        # A paragraph the manager wrote in English, in a letter in another language, is read by the
        # English rules too.
        english = "\n\n".join(p for p in re.split(r"\n\s*\n", text) if looks_english(p))
        codes = {flag.code for flag in flags}
        flags += [flag for flag in _phrases_to_avoid(english, rules("en"))[0] if flag.code not in codes]
    for pattern in the_rules.markers["not_apology"]:
        remaining = pattern.sub(" ", remaining)
    if not the_rules.found("apology", remaining):
        flags.append(ToneFlag("missing_apology", "Say you are sorry for the situation. It is not an admission of "
                                                 "guilt; it shows you care.",
                              kinder=_KINDER_APOLOGY.get(the_rules.language, _KINDER_APOLOGY["en"])))
    if not (the_rules.found("restatement", text) or _quotes_resident(text, resident_words)):
        flags.append(ToneFlag("missing_restatement", "Restate the issue as the resident put it, so they know they "
                                                     "were heard and the answer fits the problem."))
    if not the_rules.found("next_step", text):
        flags.append(ToneFlag("missing_next_step", "Say what happens next, and by when."))
    if not the_rules.found("thanks", text):
        flags.append(ToneFlag("missing_thanks", "Thank the resident sincerely and invite them to get in touch."))
    if is_late and not the_rules.found("late", text):
        flags.append(ToneFlag("late_without_apology", "This reply goes out after the promised reply date. "
                                                      "Say so, and say you are sorry for the delay."))
    return flags


_KINDER_APOLOGY = {
    "en": "I'm sorry you have had this trouble, and for the time it has cost you.",
    "es": "Siento mucho los problemas que ha tenido, y el tiempo que le han costado.",
}


def _phrases_to_avoid(text: str, the_rules: ToneRules) -> tuple[list[ToneFlag], str]:
    """Flags for the phrases to avoid in ``text``, and the text left once they are set aside."""
    flags: list[ToneFlag] = []
    remaining = text
    for rule in the_rules.avoid:
        found: list[str] = []
        for pattern in rule.patterns:
            found += [match.group(0).strip(" ,.!\n") for match in pattern.finditer(remaining)]
            # A phrase found once is flagged once, and never counts towards the apology it imitates.
            remaining = pattern.sub(" ", remaining)
        if found:
            flags.append(ToneFlag(rule.code, rule.why, " … ".join(dict.fromkeys(found)), rule.kinder))
    return flags, remaining


# A whole outcome letter ---------------------------------------------------------------------------

def check_letter(
    letter_text: str,
    *,
    own_words: str,
    offer_lines: list[str] = (),
    is_against_resident: bool,
    is_without_mediation: bool,
    language: str = "en",
) -> list[ToneFlag]:
    """The parts a written outcome must have, read in ``letter_text`` (the letter as the resident gets
    it: the manager's words in the company's frame); options are counted in ``own_words`` (the
    manager's words) and ``offer_lines``, and the readability is that of ``own_words``, less quotations.

    ``language``: the letter's language, whose rules read it. ``is_against_resident``: the decision went
    against the resident, so they need at least two options. ``is_without_mediation``: the company chose
    to name no mediation service.
    """
    the_rules = rules(language)
    text = _plain(letter_text)
    flags: list[ToneFlag] = []
    gaps = [match.group(0) for pattern in the_rules.markers["gap"] for match in pattern.finditer(own_words)]
    if gaps:
        flags.append(ToneFlag("gap_to_fill", "The letter still has a gap the draft left for you to fill in: say "
                                             "what it is before the letter goes.", " … ".join(dict.fromkeys(gaps))))
    if not the_rules.found("feedback", text):
        flags.append(ToneFlag("missing_feedback", "Give the team's honest feedback: what the team found, "
                                                  "and where we might have been wrong."))
    options = len(offer_lines) + count_options(without_quotations(own_words), language)
    if is_against_resident and options < 2:
        flags.append(ToneFlag(
            "too_few_options",
            f"The decision goes against the resident, and the letter offers {_how_many(options)}. "
            "Present at least two options, as many as you can (a payment plan, going over the records "
            "together, a token, a small concession).",
            kinder=_KINDER_OPTIONS.get(the_rules.language, _KINDER_OPTIONS["en"]),
        ))
    if not the_rules.found("date", text):
        flags.append(ToneFlag("missing_date", "Give a date for the next step, so the resident knows when to "
                                              "expect it."))
    if not the_rules.found("ladder", text):
        flags.append(ToneFlag("missing_ladder", "Name someone above you the resident can go to (a supervisor "
                                                "or the home office): set one in Settings, or say so in the "
                                                "letter."))
    if not is_without_mediation and not the_rules.found("mediation", text):
        flags.append(ToneFlag("missing_mediation", "Name the outside mediation service the resident can turn "
                                                   "to (Settings), or choose to name none."))
    flags += _readability_flags(without_quotations(own_words), the_rules)
    return flags


_KINDER_OPTIONS = {
    "en": "If you would like, I can go over the inspection photos with you. Another option is ...",
    "es": "Si lo desea, puedo revisar con usted las fotos de la inspección. Otra opción es ...",
}


def _readability_flags(text: str, the_rules: ToneRules) -> list[ToneFlag]:
    """Advice when the manager's own words are hard to read, measured the way of the letter's language:
    English by its Flesch-Kincaid grade, Spanish by Fernández-Huerta's ease (a Spanish text is never
    graded by an English formula)."""
    measure = the_rules.readability
    if "max_grade" in measure:
        grade = reading_grade(text)
        if grade > float(measure["max_grade"]):
            return [ToneFlag(
                "hard_to_read",
                f"This reads at school grade {grade:.1f}; aim at grade {float(measure['max_grade']):.0f} or below. "
                "Use shorter sentences and everyday words.",
                is_blocking=False,
            )]
    if "min_ease" in measure:
        ease = reading_ease_spanish(text)
        if ease < float(measure["min_ease"]):
            return [ToneFlag(
                "hard_to_read",
                f"This Spanish reads as hard (Fernández-Huerta ease {ease:.0f}; aim at "
                f"{float(measure['min_ease']):.0f} or above). Use shorter sentences and everyday words.",
                is_blocking=False,
            )]
    return []


def count_options(text: str, language: str = "en") -> int:
    """The sentences and list items that offer the resident a choice."""
    pieces = [piece for line in _plain(text).splitlines() for piece in re.split(r"(?<=[.!?])\s+", line)]
    return sum(1 for piece in pieces if rules(language).found("options", piece))


def _how_many(number: int) -> str:
    return {0: "none", 1: "only one"}.get(number, str(number))


def without_quotations(text: str) -> str:
    """The writer's own words: quoted lines ("> ") and words in quotation marks are someone else's."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return re.sub(r"“[^”]*”|\"[^\"]*\"", " ", "\n".join(lines))


# Readability ------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def reading_grade(text: str) -> float:
    """The Flesch-Kincaid grade of ``text``: 0.39 × words per sentence + 11.8 × syllables per word − 15.59.

    Sentences end at . ! ? or a line break (a list item is a sentence); syllables are counted by
    ``syllables``. Text with no words reads at grade 0.
    """
    sentences = [s for s in re.split(r"[.!?]+|\n", text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not words:
        return 0.0
    syllable_count = sum(syllables(word) for word in words)
    return 0.39 * len(words) / len(sentences) + 11.8 * syllable_count / len(words) - 15.59


def syllables(word: str) -> int:
    """An English word's syllables, by its groups of vowels: a silent final "e" does not count, a
    final "le" after a consonant does ("ta-ble"), and "-ed" counts only after "t" or "d"."""
    word = word.lower().split("'")[0]
    if len(word) <= 3:
        return 1
    if word.endswith("ed") and word[-3] not in "td":
        word = word[:-2]
    elif word.endswith("es") and word[-3] not in "scxzgh":
        word = word[:-2]
    elif word.endswith("e") and not (word.endswith("le") and word[-3] not in "aeiouy"):
        word = word[:-1]
    groups = re.findall(r"[aeiouy]+", word)
    return max(1, len(groups))


_SPANISH_WORD = re.compile(r"[a-záéíóúüñ]+", re.I)
_STRONG = "aeoáéóíú"  # vowels that make a syllable of their own beside another ("le-er", "dí-a")


def reading_ease_spanish(text: str) -> float:
    """Fernández-Huerta's reading ease of Spanish ``text`` (Flesch's formula fitted to Spanish):
    206.84 − 60 × syllables per word − 1.02 × words per sentence. Above 70 is easy, 60–70 plain,
    below 50 hard. Sentences end as for ``reading_grade``; text with no words reads as easy (100)."""
    sentences = [s for s in re.split(r"[.!?]+|\n", text) if _SPANISH_WORD.search(s)]
    words = _SPANISH_WORD.findall(text)
    if not words:
        return 100.0
    syllable_count = sum(spanish_syllables(word) for word in words)
    return 206.84 - 60 * syllable_count / len(words) - 1.02 * len(words) / len(sentences)


def spanish_syllables(word: str) -> int:
    """A Spanish word's syllables: its groups of vowels, each pair of strong vowels side by side
    ("pa-se-ar") split in two; a "u" after "q" or before "e"/"i" after "g" is silent anyway."""
    word = word.lower()
    count = 0
    for group in re.findall(r"[aeiouáéíóúü]+", word):
        count += 1 + sum(1 for a, b in zip(group, group[1:]) if a in _STRONG and b in _STRONG)
    return max(1, count)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _quotes_resident(text: str, resident_words: list[str]) -> bool:
    """True when the letter repeats at least eight consecutive words of the resident's own."""
    haystack = _normalise(text)
    for source in resident_words:
        words = _normalise(source).split()
        if not words:
            continue
        span = min(8, len(words))
        for start in range(0, len(words) - span + 1):
            if " ".join(words[start:start + span]) in haystack:
                return True
    return False
