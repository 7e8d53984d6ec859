"""Resolver's data model (SQLAlchemy 2.x typed mappings)."""
from .access import ApiKey, SignInAttempt, StaffToken
from .base import Base
from .category import DisputeCategory
from .company import Company, CompanyEvent, Property, Resident, StaffUser, Unit
from .dispute import AuditEvent, Dispute, DisputedItem, Timer
from .evidence import EvidenceFile, ExtensionRequest, Submission
from .installation import INSTALLATION_ID, Installation
from .ladder import LadderRequest
from .letters import UNSENT, Letter, LetterStatus, OfferAnswer, Task
from .links import AccessLink, LinkUse
from .outbox import OutboxEmail
from .panel import CasePacket, PanelMember, PanelSeat, Vote, VoteRevision

__all__ = [
    "ApiKey", "SignInAttempt", "StaffToken", "Base", "Company", "CompanyEvent", "DisputeCategory", "Property",
    "Resident", "StaffUser", "Unit", "AuditEvent", "Dispute", "DisputedItem", "Timer", "EvidenceFile", "ExtensionRequest",
    "Submission", "Installation", "INSTALLATION_ID", "LadderRequest", "Letter", "LetterStatus", "UNSENT", "OfferAnswer",
    "Task", "AccessLink",
    "LinkUse", "OutboxEmail", "CasePacket", "PanelMember", "PanelSeat", "Vote", "VoteRevision",
]
