"""Verbs for the written outcome and following it through.

draft → edit → approve (the tone check) → send (HTML and text email with the PDF attached, kept on
the dispute) → through a personal link the resident, each as its own act, confirms receipt, accepts
or declines any offer (one answer per offer), and tells us if they have gone to the company's outside
mediation service → what the letter promises (what the decision grants, and an accepted offer) becomes
the manager's task, whose completion closes the dispute; a declined offer leaves the decision standing
and tells the manager. If receipt is not confirmed in time, one last follow-up goes to the resident and
a task with a calendar reminder to the manager.

A sent letter never changes: a correction is a new letter linked to the one it corrects. Each verb
checks who may act, changes the rows, queues its emails, records the history, and never commits.

One module per job: ``decision`` (what the decision means, for the letter and the tasks),
``letter`` (drafting, editing, approving, correcting), ``sending``, ``answers`` (the resident's
confirm, accept or decline, and going to mediation), ``ladder_requests`` (asking the supervisor to look
again, and their answer), ``followup`` and ``tasks``.
"""
from __future__ import annotations

from .answers import acknowledge_outcome, refer_out, respond_to_offer
from .followup import follow_up
from .ladder_requests import (
    LOOK_AGAIN_WITHIN_DAYS, answer_ladder_request, ask_supervisor, ladder_request_for, ladder_request_of,
    reviewer_of,
)
from .letter import (
    MAX_LETTER_CHARS, SENT_STATES, ToneCheckFailed, approve_letter, correct_letter, current_letter, draft_outcome,
    edit_letter, letter_pdf_filename, letters_of, preview_html, sent_letter, tone_flags,
)
from .sending import send_outcome
from .tasks import complete_task, open_tasks, tasks_for

__all__ = [
    "MAX_LETTER_CHARS", "SENT_STATES", "ToneCheckFailed", "acknowledge_outcome", "answer_ladder_request",
    "LOOK_AGAIN_WITHIN_DAYS", "ask_supervisor", "ladder_request_for", "ladder_request_of", "reviewer_of",
    "approve_letter", "complete_task", "correct_letter", "current_letter", "draft_outcome", "edit_letter",
    "follow_up", "letter_pdf_filename", "letters_of", "open_tasks", "preview_html", "refer_out",
    "respond_to_offer", "send_outcome", "sent_letter", "tasks_for", "tone_flags",
]
