"""The resident chooses the language Resolver speaks to them: their pages, emails and letter follow it."""
from __future__ import annotations

from flask_babel import gettext as _

from ..actors import Actor
from ..errors import InvalidInput, NotAllowed
from ..history import record_event
from ..i18n import spoken_languages


def choose_language(actor: Actor, dispute, tag: str) -> bool:
    """The dispute's resident (``actor``) will be spoken to in ``tag`` from now on, on every dispute of
    theirs. The history says the language changed (the tag, nothing of the resident's own). Says whether
    anything changed: choosing the language already spoken changes nothing."""
    if actor.kind != "resident" or actor.id != dispute.resident_id:
        raise NotAllowed(_("Only the resident this dispute is about can choose its language."))
    if tag not in spoken_languages():
        raise InvalidInput(_("Please choose one of the languages listed."), field="language")
    resident = dispute.resident
    if resident.preferred_language == tag:
        return False
    resident.preferred_language = tag
    record_event(dispute, actor, "language_chosen", data={"language": tag})
    return True
