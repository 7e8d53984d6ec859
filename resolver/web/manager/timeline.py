"""A dispute's audit events as sentences a manager reads at a glance."""
from __future__ import annotations

from datetime import datetime

from ...models import AuditEvent
from ...workdays import format_moment
from ...workflow.definition import Decision, load_definition

# "{who}" is the actor; the rest of the sentence follows.
_SENTENCES = {
    "create": "{who} wrote up the dispute (a draft, nothing sent yet).",
    "open": "{who} sent the resident the invitation to give their side.",
    "submit_evidence": "{who} sent their side{files}.",
    "lapse": "The time for the resident's side ran out with nothing received.",
    "reopen": "{who} reopened the dispute: the resident has a fresh window to send their side.",
    "deadlock": "The resolution team was split; the manager decides, and the supervisor was told.",
    "extend": "{who} moved the {window} deadline{dates}.",
    "ask_more_time": "{who} asked for {days} more days.",
    "attach_mail": "{who} added a reply the resident had sent by email.",
    "refuse_more_time": "{who} said no to more time.",
    "withdraw": "{who} withdrew the dispute.",
    "close": "{who} closed the dispute.",
    "reply_breached": "The written reply was not sent by its deadline; the supervisor was told.",
    "send_to_panel": "{who} sent the case to the resolution team.",
    "decide": "The resolution team decided: {decision}.",
    "manager_decides": "{who} decided for the split team: {decision}.",
    "draft_outcome": "{who} drafted the outcome letter.",
    "send_outcome": "{who} sent the outcome letter.",
    "acknowledge": "{who} confirmed they received the letter.",
    "refer_out": "{who} referred the dispute to outside mediation.",
    "ladder_requested": "{who} asked the supervisor to look again at the decision.",
    "ladder_answered": "{who} looked again at the decision and answered the resident.",
    "follow_up": "Resolver followed up one last time with the resident.",
    "followed_up": "{who} followed up one last time with the resident.",
    "seat_panel": "{who} chose the resolution team.",
    "replace_seat": "{who} seated a replacement on the team.",
    "packet_frozen": "{who} fixed the case as the team sees it (both sides and the evidence).",
    "vote": "{who} voted.",
    "change_vote": "{who} changed their vote.",
    "recuse": "{who} stepped aside from the team.",
    "letter_edited": "{who} edited the letter.",
    "letter_approved": "{who} approved the letter.",
    "correction_started": "{who} started a correction of the letter.",
    "correction_sent": "{who} sent the corrected letter.",
    "receipt_confirmed": "{who} confirmed they received the letter.",
    "offer_accepted": "{who} accepted the offer.",
    "offer_declined": "{who} declined the offer.",
    "task_done": "{who} finished a task{task}.",
    "fulfilment_task": "What the letter promised became a task for the manager{task}.",
}

_DECISIONS = {Decision.UPHOLD: "the company's position stands", Decision.RESIDENT: "the resident's suggestion is granted",
              Decision.COMPROMISE: "a compromise"}


def _who(event: AuditEvent, resident_name: str) -> str:
    if event.actor_kind == "system":
        return "Resolver"
    if event.actor_kind == "panel":
        return "A team member"
    if event.actor_kind == "resident":  # the history keeps no name of theirs: the Resident row has it
        return resident_name
    return event.actor_label or event.actor_kind


def residents_words(event: AuditEvent, requests, ladder_requests) -> str:
    """What to quote beside ``event``: its reason, or for the resident's own requests what they wrote,
    read from the request itself (the history keeps none of it, so that erasure can remove it)."""
    data = event.data or {}
    if event.action == "ask_more_time":
        request = next((r for r in requests if r.id == data.get("request_id")), None)
        return request.reason if request is not None else event.reason
    if event.action == "ladder_requested":
        request = next((r for r in ladder_requests if r.letter_id == data.get("letter_id")), None)
        return request.message if request is not None else event.reason
    return event.reason


def describe(event: AuditEvent, company, decision: str | None = None, *,
             resident_name: str = "The resident", task_titles: dict[int, str] | None = None) -> str:
    """``event`` as a sentence; the resident's name and a task's title (which names them) are read from
    their rows, since the history keeps neither."""
    data = event.data or {}
    title = (task_titles or {}).get(data.get("task_id")) or data.get("title")  # events before 0015 kept it
    template = _SENTENCES.get(event.action)
    if template is None:
        words = event.action.replace("_", " ")
        sentence = f"{_who(event, resident_name)}: {words}."
        if event.is_state_change:
            workflow = load_definition("dispute")
            sentence = f"{_who(event, resident_name)}: {words} (now {workflow.label(event.to_state)})."
        return sentence
    dates = ""
    if data.get("new_due"):
        new = format_moment(datetime.fromisoformat(data["new_due"]), company)
        old = format_moment(datetime.fromisoformat(data["old_due"]), company) if data.get("old_due") else None
        dates = f" from {old} to {new}" if old else f" to {new}"
    files = data.get("files")
    chosen = data.get("decision") or decision
    return template.format(
        who=_who(event, resident_name),
        files=f" with {files} file{'s' if files != 1 else ''}" if files else "",
        window={"evidence": "resident's", "reply": "written reply", "panel": "team's",
                "follow_up": "follow-up"}.get(data.get("window"), data.get("window", "")),
        dates=dates,
        days=data.get("days", "a few"),
        decision=_DECISIONS.get(chosen, chosen or "recorded"),
        task=f": {title}" if title else "",
    )
