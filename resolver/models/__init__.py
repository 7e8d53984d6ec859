"""Resolver's data model (SQLAlchemy 2.x typed mappings)."""
from .access import AccessLogRollup, ApiKey, SignInAttempt, SignInCount, StaffToken
from .base import Base
from .category import DisputeCategory
from .company import Company, CompanyEvent, Property, Resident, StaffUser, Unit
from .dispute import AuditEvent, Dispute, DisputedItem, Timer
from .evidence import EvidenceFile, ExtensionRequest, Submission
from .inbound import InboundMail
from .installation import INSTALLATION_ID, Installation
from .ladder import LadderRequest
from .letters import UNSENT, Letter, LetterStatus, OfferAnswer, Task
from .links import AccessLink, LinkUse, LinkUseCount
from .outbox import OutboxEmail
from .panel import CasePacket, PanelMember, PanelSeat, Vote, VoteRevision

__all__ = [
    "AccessLogRollup", "ApiKey", "SignInAttempt", "SignInCount", "StaffToken",
    "Base", "Company", "CompanyEvent", "DisputeCategory", "Property",
    "Resident", "StaffUser", "Unit", "AuditEvent", "Dispute", "DisputedItem", "Timer", "EvidenceFile", "ExtensionRequest",
    "Submission", "InboundMail", "Installation", "INSTALLATION_ID", "LadderRequest", "Letter", "LetterStatus", "UNSENT", "OfferAnswer",
    "Task", "AccessLink",
    "LinkUse", "LinkUseCount", "OutboxEmail", "CasePacket", "PanelMember", "PanelSeat", "Vote", "VoteRevision",
]
