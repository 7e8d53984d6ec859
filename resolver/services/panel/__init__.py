"""Verbs for the resolution team: choosing it, sending it the frozen case, its votes, recusals,
the count, and closing it.

The count's rules (quorum, majority, tie, early close) are data in the workflow definition's
``panel:`` section (``PanelRules``); this package only reads them. Like every verb, none of these
commit: the request or the worker does, once.

One module per job: ``conflicts`` (conflicts of interest), ``team`` (proposing and seating the
team, a replacement), ``packet`` (the frozen case packet), ``invitations`` (sending the case),
``voting`` (a member's vote or recusal), ``calls`` (the votes of a team's call, recorded by the
manager), ``count`` (the pure count), ``result`` (a dispute's team
and its count), ``closing`` (closing the review, deciding a deadlock) and ``progress`` (the
manager's view of who has voted).
"""
from __future__ import annotations

from .calls import CallRecord, CallVote, call_records, record_call
from .closing import close_panel, decide_deadlock
from .conflicts import Conflict, conflicts_for
from .count import CHOICE_LABELS, Opinion, TallyResult
from .invitations import send_to_panel
from .packet import build_packet_content, current_packet, files_on, freeze_packet
from .progress import PanelProgress, SeatProgress, panel_progress
from .result import rules, tally
from .team import propose_panel, propose_replacement, replace_seat, seat_panel
from .voting import MAX_REASON, record_vote, recuse

__all__ = [
    "CHOICE_LABELS", "MAX_REASON", "CallRecord", "CallVote", "call_records", "Conflict", "Opinion", "PanelProgress", "SeatProgress",
    "TallyResult", "build_packet_content", "close_panel", "conflicts_for", "current_packet", "decide_deadlock",
    "files_on", "freeze_packet", "panel_progress", "propose_panel", "propose_replacement", "record_call", "record_vote", "recuse",
    "replace_seat", "rules", "seat_panel", "send_to_panel", "tally",
]
