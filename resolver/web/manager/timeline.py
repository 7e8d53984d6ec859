"""A dispute's audit events as sentences a manager reads at a glance."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ...models import AuditEvent
from ...wording import english_name
from ...workdays import day_words, format_date, format_moment
from ...workflow.definition import Decision, load_definition

# "%(who)s" is the actor; the rest of the sentence follows. Each is a whole sentence for translating.
_SENTENCES = {
    "create": _l("%(who)s wrote up the dispute (a draft, nothing sent yet)."),
    "open": _l("%(who)s sent the resident the invitation to give their side."),
    "submit_evidence": _l("%(who)s sent their side."),
    "lapse": _l("The time for the resident's side ran out with nothing received."),
    "reopen": _l("%(who)s reopened the dispute: the resident has a fresh window to send their side."),
    "deadlock": _l("The resolution team was split; the manager decides, and the supervisor was told."),
    "extend": _l("%(who)s moved the %(window)s deadline."),
    "ask_more_time": _l("%(who)s asked for a few more days."),
    "attach_mail": _l("%(who)s added a reply the resident had sent by email."),
    "refuse_more_time": _l("%(who)s said no to more time."),
    "withdraw": _l("%(who)s withdrew the dispute."),
    "close": _l("%(who)s closed the dispute."),
    "reply_breached": _l("The written reply was not sent by its deadline; the supervisor was told."),
    "send_to_panel": _l("%(who)s sent the case to the resolution team."),
    "decide": _l("The resolution team decided: %(decision)s."),
    "manager_decides": _l("%(who)s decided for the split team: %(decision)s."),
    "draft_outcome": _l("%(who)s drafted the outcome letter."),
    "send_outcome": _l("%(who)s sent the outcome letter."),
    "acknowledge": _l("%(who)s confirmed they received the letter."),
    "refer_out": _l("%(who)s referred the dispute to outside mediation."),
    "ladder_requested": _l("%(who)s asked the supervisor to look again at the decision."),
    "ladder_answered": _l("%(who)s looked again at the decision and answered the resident."),
    "follow_up": _l("Resolver followed up one last time with the resident."),
    "followed_up": _l("%(who)s followed up one last time with the resident."),
    "seat_panel": _l("%(who)s chose the resolution team."),
    "replace_seat": _l("%(who)s seated a replacement on the team."),
    "packet_frozen": _l("%(who)s fixed the case as the team sees it (both sides and the evidence)."),
    "vote": _l("%(who)s voted."),
    "change_vote": _l("%(who)s changed their vote."),
    "recuse": _l("%(who)s stepped aside from the team."),
    "vote_from_call": _l("%(who)s recorded a team member's vote from the call on %(call_day)s."),
    "change_vote_from_call": _l("%(who)s recorded a team member's changed vote from the call on %(call_day)s."),
    "change_vote_correcting_call": _l("%(who)s corrected the vote recorded for them from the call on %(call_day)s."),
    "change_vote_confirming_call": _l("%(who)s confirmed the vote recorded for them from the call on %(call_day)s."),
    "letter_edited": _l("%(who)s edited the letter."),
    "letter_approved": _l("%(who)s approved the letter."),
    "correction_started": _l("%(who)s started a correction of the letter."),
    "correction_sent": _l("%(who)s sent the corrected letter."),
    "receipt_confirmed": _l("%(who)s confirmed they received the letter."),
    "offer_accepted": _l("%(who)s accepted the offer."),
    "offer_declined": _l("%(who)s declined the offer."),
    "task_done": _l("%(who)s finished a task."),
    "fulfilment_task": _l("What the letter promised became a task for the manager."),
    "company_files_added": _l("%(who)s added %(named)s to the company's side."),
    "company_file_removed": _l("%(who)s removed %(named)s from the company's side."),
}

# The sentences above, when the event says more: how many files, the dates a deadline moved between...
_WITH_TASK = {
    "task_done": _l("%(who)s finished a task: %(task)s."),
    "fulfilment_task": _l("What the letter promised became a task for the manager: %(task)s."),
}

_DECISIONS = {Decision.UPHOLD: _l("the company's position stands"),
              Decision.RESIDENT: _l("the resident's suggestion is granted"),
              Decision.COMPROMISE: _l("a compromise")}
# A deadline's name inside "moved the … deadline".
_WINDOWS = {"evidence": _l("resident's"), "reply": _l("written reply"), "panel": _l("team's"),
            "follow_up": _l("follow-up")}


def _who(event: AuditEvent, resident_name: str) -> str:
    if event.actor_kind == "system":
        return "Resolver"
    if event.actor_kind == "panel":
        return _("A team member")
    if event.actor_kind == "resident":  # the history keeps no name of theirs: the Resident row has it
        return resident_name
    return event.actor_label or event.actor_kind


def _by_post(event: AuditEvent, company, resident_name: str) -> str:
    """A letter typed in by staff: "Ana Ruiz's side came by post (2 files), entered by Dana Whitfield
    from a letter received on Tuesday 3 March 2026." The history keeps the day, the page its words."""
    files = (event.data or {}).get("files")
    words = {"resident": resident_name, "who": _who(event, resident_name),
             "day": day_words(date.fromisoformat(event.data["by_post"]))}
    if files:
        return ngettext("%(resident)s's side came by post (%(num)s file), entered by %(who)s from a letter received "
                        "on %(day)s.", "%(resident)s's side came by post (%(num)s files), entered by %(who)s from a "
                        "letter received on %(day)s.", files, **words)
    return _("%(resident)s's side came by post, entered by %(who)s from a letter received on %(day)s.", **words)


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


def _named(files: list[dict]) -> str:
    """“invoice.pdf”, or “a.jpg” and “b.jpg”, or 3 files: “a.jpg”, “b.jpg” and “c.jpg”."""
    names = [_("“%(name)s”", name=f["name"]) if f.get("name") else _("“a file”") for f in files]
    if len(names) <= 1:
        return names[0] if names else _("a file")
    listed = _("%(first)s and %(last)s", first=", ".join(names[:-1]), last=names[-1])
    return listed if len(names) == 2 else _("%(count)s files: %(listed)s", count=len(names), listed=listed)


def _sentence_of(action: str, data: dict) -> str:
    """The sentence's key: a vote recorded from a call, or a member's correction of one, says so."""
    if action in ("vote", "change_vote") and data.get("call_on"):
        return f"{action}_from_call"
    if action == "change_vote" and data.get("corrects_call_on"):
        return "change_vote_correcting_call"
    if action == "change_vote" and data.get("confirms_call_on"):
        return "change_vote_confirming_call"
    return action


def _call_day(data: dict) -> str:
    day = data.get("call_on") or data.get("corrects_call_on") or data.get("confirms_call_on")
    return format_date(date.fromisoformat(day)) if day else ""


def describe(event: AuditEvent, company, decision: str | None = None, *,
             resident_name: str = "The resident", task_titles: dict[int, str] | None = None) -> str:
    """``event`` as a sentence; the resident's name and a task's title (which names them) are read from
    their rows, since the history keeps neither."""
    data = event.data or {}
    title = (task_titles or {}).get(data.get("task_id")) or data.get("title")  # events before 0015 kept it
    who = _who(event, resident_name)
    key = _sentence_of(event.action, data)
    if key not in _SENTENCES and key not in ("call_recorded", "language_chosen"):
        words = event.action.replace("_", " ")
        if event.is_state_change:
            workflow = load_definition("dispute")
            return _("%(who)s: %(action)s (now %(state)s).", who=who, action=words,
                     state=workflow.label(event.to_state))
        return _("%(who)s: %(action)s.", who=who, action=words)
    if event.action == "submit_evidence" and data.get("by_post"):
        return _by_post(event, company, resident_name)
    special = _told_more(key, data, company, who, title)
    if special is not None:
        return special
    chosen = data.get("decision") or decision
    return _SENTENCES[key] % {
        "who": who,
        "window": _WINDOWS.get(data.get("window"), data.get("window", "")),
        "decision": _DECISIONS.get(chosen, chosen or _("recorded")),
        "named": _named(data.get("company_files") or []),
        "call_day": _call_day(data),
    }


def _told_more(key: str, data: dict, company, who: str, title: str | None) -> str | None:
    """The sentences whose words depend on what the event says: how many files or members, the dates
    a deadline moved between, how many days were asked for, the task's title."""
    if key == "submit_evidence" and data.get("files"):
        return ngettext("%(who)s sent their side with %(num)s file.", "%(who)s sent their side with %(num)s files.",
                        data["files"], who=who)
    if key == "extend" and data.get("new_due"):
        window = _WINDOWS.get(data.get("window"), data.get("window", ""))
        new = format_moment(datetime.fromisoformat(data["new_due"]), company)
        if data.get("old_due"):
            old = format_moment(datetime.fromisoformat(data["old_due"]), company)
            return _("%(who)s moved the %(window)s deadline from %(old)s to %(new)s.", who=who, window=window,
                     old=old, new=new)
        return _("%(who)s moved the %(window)s deadline to %(new)s.", who=who, window=window, new=new)
    if key == "ask_more_time" and data.get("days"):
        return ngettext("%(who)s asked for %(num)s more day.", "%(who)s asked for %(num)s more days.",
                        data["days"], who=who)
    if key == "call_recorded":
        return ngettext("%(who)s recorded the team's call on %(day)s: %(num)s member attended.",
                        "%(who)s recorded the team's call on %(day)s: %(num)s members attended.",
                        len(data.get("seat_ids") or ()), who=who, day=_call_day(data))
    if key == "language_chosen" and data.get("language"):
        return _("%(who)s chose to read Resolver in %(language)s: their pages, emails and letters from now on.",
                 who=who, language=english_name(data["language"]))
    if key in _WITH_TASK and title:
        return _WITH_TASK[key] % {"who": who, "task": title}
    return None
