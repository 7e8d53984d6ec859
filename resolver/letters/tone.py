"""The tone check: what the practice notes warn against, and what every reply must contain.

The check advises; it does not forbid. A manager may send a flagged letter with a reason, and that
reason is kept. Phrases are matched case-insensitively on the words the resident will read.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# (code, pattern, why) — each warning says why, in the words of the practice notes.
_WARNINGS = [
    ("sorry_you_feel",
     r"\bsorry (?:that |if )?you (?:feel|felt)\b[^.!?\n]*",
     "“Sorry you feel that way” belittles the problem: it was not a feeling, it was a real problem. "
     "Say you are sorry it happened, or sorry for the trouble it caused."),
    ("calm_down",
     r"\bcalm down\b",
     "“Calm down” always escalates. Leave it out."),
    ("already_told",
     r"\b(?:as (?:I|we) (?:have )?(?:already |previously )?(?:told|said|explained|mentioned|stated)(?: to)?(?: you)?"
     r"|as (?:previously|already) (?:stated|explained|mentioned)|per my (?:last|previous) (?:email|letter|message))\b",
     "“As I already told you” reads as impatience. Say it again plainly, as if for the first time."),
    ("lecturing",
     r"\b(?:you (?:should|ought to) have|you were (?:supposed|required|expected) to|you (?:failed|neglected) to"
     r"|you did(?: not|n['’]t) follow|(?:the )?proper (?:channels?|procedures?|protocol)|if you had (?:read|followed)"
     r"|(?:read|check) your lease|as (?:clearly )?stated in (?:your|the) lease|it (?:is|was) your responsibility)\b",
     "This lectures the resident on protocol. The notes say: this is not the time for judging or educating."),
    ("blaming",
     r"\b(?:your (?:own )?fault|you caused|because of you\b|you are to blame|you['’]re to blame"
     r"|due to your (?:own )?(?:negligence|carelessness|failure)|(?:is|was|are|were) (?:totally |completely |simply )?unreasonable)",
     "This blames the resident. Blame the situation, the lease or the system if you must, never the person."),
]

_APOLOGY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies|regret)\b", re.I)
_THANKS = re.compile(r"\bthank(?:s| you)\b", re.I)
_NEXT_STEP = re.compile(
    r"\b(?:next|within \d+|by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|I will|we will|I['’]ll|we['’]ll)\b",
    re.I,
)
_RESTATEMENT = re.compile(
    r"\b(?:you told us|you told me|as you put it|in your (?:own )?words|you asked (?:us|me)|you wrote|you said"
    r"|what I['’]m hearing|as I understand it|you let us know|you let me know)\b",
    re.I,
)
_LATE = re.compile(r"\b(?:later than|late|delay(?:ed)?|took longer)\b", re.I)


@dataclass(frozen=True)
class ToneFlag:
    code: str
    message: str
    excerpt: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def check_tone(text: str, *, resident_words: list[str] = (), is_late: bool = False) -> list[ToneFlag]:
    """Flags for ``text``: phrases to avoid, then the parts a reply must not leave out.

    ``resident_words`` are what the resident wrote (the issue, their details): quoting a good piece
    of them counts as restating the issue. ``is_late`` asks for an apology for the delay.
    """
    flags: list[ToneFlag] = []
    remaining = text
    for code, pattern, why in _WARNINGS:
        found = list(dict.fromkeys(match.group(0).strip() for match in re.finditer(pattern, text, re.I)))
        if found:
            flags.append(ToneFlag(code, why, " … ".join(found)))
        # A warned-against phrase does not count towards the apology it imitates.
        remaining = re.sub(pattern, " ", remaining, flags=re.I)
    if not _APOLOGY.search(remaining):
        flags.append(ToneFlag("missing_apology", "Say you are sorry for the situation. It is not an admission of "
                                                 "guilt; it shows you care."))
    if not (_RESTATEMENT.search(text) or _quotes_resident(text, resident_words)):
        flags.append(ToneFlag("missing_restatement", "Restate the issue as the resident put it, so they know they "
                                                     "were heard and the answer fits the problem."))
    if not _NEXT_STEP.search(text):
        flags.append(ToneFlag("missing_next_step", "Say what happens next, and by when."))
    if not _THANKS.search(text):
        flags.append(ToneFlag("missing_thanks", "Thank the resident sincerely and invite them to get in touch."))
    if is_late and not _LATE.search(text):
        flags.append(ToneFlag("late_without_apology", "This reply goes out after the promised reply date. "
                                                      "Say so, and say you are sorry for the delay."))
    return flags


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
