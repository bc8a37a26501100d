"""The states of a case, and who may move it where, as data (pure).

Received -> (completion requested) -> complete -> under review -> (referral or
neighbour hearing) -> decision proposed -> decided -> decision served; the applicant may
withdraw at any point before a decision. ``casework.case_transition`` is the one service
that moves a case, checking these rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("received")
    INCOMPLETE = "incomplete", _("awaiting completion")
    COMPLETE = "complete", _("complete")
    REVIEW = "review", _("under review")
    HEARING = "hearing", _("referral or neighbour hearing")
    PROPOSED = "proposed", _("decision proposed")
    DECIDED = "decided", _("decided")
    NOTIFIED = "notified", _("decision served")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Role(models.TextChoices):
    """What a person does in a case. Staff roles belong to a municipality."""

    APPLICANT = "applicant", _("applicant")
    OFFICER = "officer", _("planning officer")
    DECISION_MAKER = "decision_maker", _("decision-maker")
    ADMIN = "admin", _("municipal administrator")


class Outcome(models.TextChoices):
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")
    DISMISSED = "dismissed", _("dismissed")
    WRITTEN_OFF = "written_off", _("written off")


@dataclass(frozen=True)
class Transition:
    """One move: from which states, to which, by whom."""

    action: str
    sources: frozenset[str]
    target: str
    role: str
    label: str | Promise  # translated when shown
    needs_reason: bool = False


OPEN = frozenset({Status.SUBMITTED, Status.INCOMPLETE, Status.COMPLETE, Status.REVIEW,
                  Status.HEARING, Status.PROPOSED})
CLOSED = frozenset({Status.DECIDED, Status.NOTIFIED, Status.WITHDRAWN})

TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("submit", frozenset({Status.DRAFT}), Status.SUBMITTED, Role.APPLICANT,
               _("Send the application")),
    Transition("request_completion", frozenset({Status.SUBMITTED, Status.INCOMPLETE}),
               Status.INCOMPLETE, Role.OFFICER, _("Request completion")),
    Transition("mark_complete", frozenset({Status.SUBMITTED, Status.INCOMPLETE}),
               Status.COMPLETE, Role.OFFICER, _("Mark as complete")),
    Transition("start_review", frozenset({Status.COMPLETE}), Status.REVIEW, Role.OFFICER,
               _("Start the review")),
    Transition("start_hearing", frozenset({Status.REVIEW}), Status.HEARING, Role.OFFICER,
               _("Start a referral or hearing")),
    Transition("end_hearing", frozenset({Status.HEARING}), Status.REVIEW, Role.OFFICER,
               _("End the hearing")),
    # A dismissal (avvisning) may be proposed for an application that was never completed.
    Transition("propose", frozenset({Status.REVIEW, Status.HEARING, Status.INCOMPLETE}),
               Status.PROPOSED, Role.OFFICER, _("Propose a decision")),
    Transition("approve", frozenset({Status.PROPOSED}), Status.DECIDED,
               Role.DECISION_MAKER, _("Approve the decision")),
    Transition("send_back", frozenset({Status.PROPOSED}), Status.REVIEW,
               Role.DECISION_MAKER, _("Send back with a comment"), needs_reason=True),
    Transition("notify", frozenset({Status.DECIDED}), Status.NOTIFIED, Role.OFFICER,
               _("Record the decision as served")),
    Transition("withdraw", OPEN, Status.WITHDRAWN, Role.APPLICANT,
               _("Withdraw the application")),
)}


def can_move(current: str, target: str) -> bool:
    """Return True if some transition leads from ``current`` to ``target``."""
    return any(current in t.sources and t.target == target for t in TRANSITIONS.values())


def transitions_from(current: str, roles: set[str]) -> list[Transition]:
    """The moves open to someone with ``roles`` from a state, in workflow order."""
    return [t for t in TRANSITIONS.values() if current in t.sources and t.role in roles]
