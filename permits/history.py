"""The audit trail in words: what each kind of event says, to staff and to applicants."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from permits.models import Application, ApplicationEvent

EVENT_LABELS = {
    "created": _("Draft started"),
    "saved": _("Draft saved"),
    "attachment": _("Document attached"),
    "attachment-removed": _("Document removed"),
    "submit": _("Application sent"),
    "submitted": _("Application sent"),
    "request_completion": _("Completion requested"),
    "completion_sent": _("Completion sent"),
    "mark_complete": _("Application complete"),
    "start_review": _("Review started"),
    "start_hearing": _("Referral or hearing started"),
    "end_hearing": _("Referral or hearing ended"),
    "propose": _("Decision proposed"),
    "approve": _("Decision made"),
    "send_back": _("Proposal sent back"),
    "notify": _("Decision served"),
    "withdraw": _("Application withdrawn"),
    "extended": _("Time limit extended"),
    "assigned": _("Case assigned"),
    "read": _("Read"),
    "document": _("Document generated"),
    "fee": _("Fee changed"),
    "export": _("Exported"),
    "checks": _("Checked against the plan"),
    "checks_acknowledged": _("Re-check acknowledged"),
    "check_assessed": _("Check assessed"),
    "hearing_letter": _("Hearing or referral letter sent"),
    "hearing_reply": _("Reply to a hearing or referral"),
    "hearing_reminder": _("Reminder sent"),
}


def label(kind: str) -> str:
    """What an event of a kind is called (its kind, if it has no name)."""
    return str(EVENT_LABELS.get(kind, kind))


def applicant_history(application: Application) -> QuerySet[ApplicationEvent]:
    """The events of a case meant for its applicant, oldest first."""
    return application.events.filter(audience=ApplicationEvent.Audience.APPLICANT).order_by(
        "at", "id")


def staff_history(application: Application) -> QuerySet[ApplicationEvent]:
    """Every event of a case, with who did it."""
    return application.events.select_related("actor").order_by("at", "id")
