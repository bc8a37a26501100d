"""Permit data: applications (cases) and their documents; casework (roles, completion
requests, decisions, fee tables); the audit trail."""

from permits.models.applications import (
    Application,
    ApplicationEvent,
    Attachment,
    AttachmentKind,
    CaseCounter,
    CaseType,
    DrawnFeature,
    Feedback,
    Measure,
)
from permits.models.casework import (
    Committee,
    CompletionItem,
    CompletionRequest,
    Decision,
    FeeRow,
    FeeTable,
    StaffRole,
)
from permits.models.checks import CaseCheck, CheckAssessment
from permits.models.hearings import HearingParty, ReferralBody
from permits.models.tokens import ApiToken

__all__ = [
    "ApiToken", "Application", "ApplicationEvent", "Attachment", "AttachmentKind", "CaseCheck",
    "CaseCounter", "CaseType", "CheckAssessment", "Committee", "CompletionItem",
    "CompletionRequest", "Decision", "DrawnFeature", "Feedback", "FeeRow", "FeeTable", "Measure",
    "StaffRole",
    "HearingParty", "ReferralBody",
]
