"""The count: what a team's votes decide, by the workflow's panel rules.

Pure: it takes plain values (how many are seated, the ballots in the order they were cast, the
disputed items' ids, the rules) and returns a ``TallyResult``. It reads no database and keeps no
state, so it can be tested with numbers alone; ``result.tally`` feeds it a dispute's stored votes.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...workflow.definition import Decision

if TYPE_CHECKING:
    from ...workflow.definition import PanelRules

CHOICE_LABELS = {
    Decision.UPHOLD: "the company's position stands",
    Decision.RESIDENT: "the resident's suggested resolution is granted",
    Decision.COMPROMISE: "a compromise is fairer",
}
ANONYMOUS_AUTHOR = "A team member"


@dataclass(frozen=True)
class Ballot:
    """One seated member's vote, as the count reads it."""

    choice: str
    reason: str
    member_name: str
    organisation: str = ""
    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None
    item_choices: dict = field(default_factory=dict)  # {item id as text: choice}


@dataclass
class Opinion:
    choice: str
    reason: str
    author: str  # "A team member" when the company keeps the team anonymous


@dataclass(frozen=True)
class Recommendation:
    """What one side of the team recommended offering: the median of its amounts."""

    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None


@dataclass
class TallyResult:
    """What the votes say now, by the workflow's panel rules."""

    seated: int
    voted: int
    counts: dict[str, int]
    quorum: int  # votes needed
    choice: str | None  # the winning choice, if there is one
    is_quorate: bool
    explanation: str
    early_close_reason: str = ""
    token_kind: str = ""
    token_cents: int | None = None
    concession_cents: int | None = None
    item_choices: dict[int, str] = field(default_factory=dict)
    opinions: list[Opinion] = field(default_factory=list)

    @property
    def is_decided(self) -> bool:
        return self.choice is not None

    @property
    def is_deadlocked(self) -> bool:
        return self.choice is None

    @property
    def everyone_voted(self) -> bool:
        return self.seated > 0 and self.voted >= self.seated


def _median(values: list[int]) -> int | None:
    return int(round(statistics.median(values))) if values else None


def _winner(counts: Counter, cast: int, share: float) -> str | None:
    """The choice with more than ``share`` of the votes cast and more than any other; else None (a tie)."""
    ranked = counts.most_common(2)
    if not ranked:
        return None
    choice, n = ranked[0]
    if n > share * cast and (len(ranked) == 1 or n > ranked[1][1]):
        return choice
    return None


def _settled(counts: Counter, cast: int, seated: int, share: float) -> bool:
    """The outstanding votes cannot take the lead away: the leader still wins if all of them go elsewhere."""
    ranked = counts.most_common(2)
    if not ranked:
        return False
    outstanding = seated - cast
    n = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return n > share * seated and n > runner_up + outstanding


def anonymise(reason: str, names: list[str]) -> str:
    """A reason with the team's names taken out ("Pat: ..." -> "...", "Pat thinks" -> "a team member thinks")."""
    text = reason.strip()
    for name in sorted(set(filter(None, names)), key=len, reverse=True):
        text = re.sub(rf"^{re.escape(name)}\s*[:,-]\s*", "", text)
        text = re.sub(re.escape(name), "a team member", text)
    return text[:1].upper() + text[1:]


def recommend(ballots: list[Ballot]) -> Recommendation:
    """The median of what these ballots recommended: the token (and its most named kind) and the concession."""
    tokens = [b for b in ballots if b.token_cents]
    token_kind, token_cents = "", None
    if tokens:
        token_cents = _median([b.token_cents for b in tokens])
        kinds = Counter(b.token_kind.strip() for b in tokens if b.token_kind.strip())
        token_kind = kinds.most_common(1)[0][0] if kinds else "gift card"
    concession_cents = _median([b.concession_cents for b in ballots if b.concession_cents])
    return Recommendation(token_kind, token_cents, concession_cents)


def count_votes(
    *,
    seated: int,
    ballots: list[Ballot],
    item_ids: list[int],
    rules: PanelRules,
    is_reviewing: bool,
    is_anonymous: bool,
) -> TallyResult:
    """Count ``ballots`` (those of the ``seated`` members still on the team, oldest first).

    ``is_reviewing``: the team is still reviewing, so an early close is worth looking for.
    ``is_anonymous``: the opinions are quoted without names.
    """
    cast = len(ballots)
    counts = Counter(b.choice for b in ballots)
    needed = int(rules.quorum_share * seated) + 1 if seated else 1
    is_quorate = seated > 0 and cast >= needed
    choice = _winner(counts, cast, rules.majority_share) if is_quorate else None
    if not seated:
        explanation = "No one is seated on the team."
    elif not is_quorate:
        explanation = f"{cast} of {seated} members voted; at least {needed} must vote for the team to decide."
    elif choice is None:
        top = counts.most_common()
        explanation = ("The votes are split (" + ", ".join(f"{n} {c}" for c, n in top) + "); no choice has a "
                       "majority.")
    else:
        explanation = f"{counts[choice]} of {cast} votes: {CHOICE_LABELS[choice]}."

    # Per item: each vote's own decision for the item, else its overall choice.
    item_choices = {}
    items_settled = True
    for item_id in item_ids:
        item_counts = Counter((b.item_choices or {}).get(str(item_id)) or b.choice for b in ballots)
        winner = _winner(item_counts, cast, rules.majority_share) if cast else None
        item_choices[item_id] = winner or choice
        items_settled = items_settled and _settled(item_counts, cast, seated, rules.majority_share)

    result = TallyResult(seated=seated, voted=cast, counts={c: counts.get(c, 0) for c in map(str, Decision)},
                         quorum=needed, choice=choice, is_quorate=is_quorate, explanation=explanation,
                         item_choices=item_choices)
    if is_reviewing:
        if "everyone_voted" in rules.early_close and result.everyone_voted:
            result.early_close_reason = "Everyone on the team has voted."
        elif ("result_cannot_change" in rules.early_close and choice is not None and items_settled
              and _settled(counts, cast, seated, rules.majority_share)):
            result.early_close_reason = (f"The result can no longer change: {counts[choice]} of {seated} members "
                                         f"voted that {CHOICE_LABELS[choice]}.")

    # The recommendation for the letter: the median of what the winning side recommended.
    side = recommend([b for b in ballots if b.choice == choice] if choice else [])
    result.token_kind, result.token_cents, result.concession_cents = (
        side.token_kind, side.token_cents, side.concession_cents)

    names = [b.member_name for b in ballots]
    for ballot in ballots:
        if is_anonymous:
            result.opinions.append(Opinion(ballot.choice, anonymise(ballot.reason, names), ANONYMOUS_AUTHOR))
        else:
            who = ballot.member_name + (f" ({ballot.organisation})" if ballot.organisation else "")
            result.opinions.append(Opinion(ballot.choice, ballot.reason.strip(), who))
    return result
