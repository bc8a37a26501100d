"""Casework: every move of a case goes through ``case_transition``, which checks the
workflow (permits/workflow.py) and the actor's role in the case's municipality, moves the
case with a conditional UPDATE (of two officers deciding at once, one wins), keeps the
PBL clock's dates and records who, when, why and from where in the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from permits import clock
from permits.exceptions import IllegalTransition, InvalidCasework, NotAllowed
from permits.models import (
    Application,
    ApplicationEvent,
    AttachmentKind,
    Committee,
    CompletionItem,
    CompletionRequest,
    Decision,
    StaffRole,
)
from permits.selectors.casework import roles_in
from permits.services import clock as service_clock
from permits.services.fees import fee_for
from permits.workflow import TRANSITIONS, Outcome, Role, Status, Transition

Audience = ApplicationEvent.Audience


def event_record(application: Application, actor: Any, kind: str, text: str = "", *,
                 audience: str = Audience.STAFF, ip: str | None = None,
                 data: dict[str, Any] | None = None) -> ApplicationEvent:
    """Add a row to a case's audit trail."""
    return ApplicationEvent.objects.create(
        application=application, actor=actor if getattr(actor, "pk", None) else None,
        kind=kind, text=text, audience=audience, ip=ip or None, data=data or {},
        at=service_clock.now())


def case_read(*, actor: Any, application: Application, what: str,
              ip: str | None = None) -> None:
    """Record that a member of staff read a case, an attachment or a document."""
    event_record(application, actor, "read", what, ip=ip)


@dataclass
class Move:
    """What a transition needs beyond the action: a reason, dates, a decision."""

    reason: str = ""
    on: date | None = None  # e.g. the day the application was complete (default: today)
    reply_by: date | None = None
    items: list[tuple[str, str]] = field(default_factory=list)  # (kind, description)
    outcome: str = ""
    conditions: str = ""
    delegation_point: str = ""


def _committee(application: Application) -> Committee:
    committee, _created = Committee.objects.get_or_create(
        municipality_id=application.municipality_id)
    return committee


def _refresh_deadline(application: Application) -> dict[str, Any]:
    """The clock's deadline from the case's dates (stored for the queues)."""
    if application.received_on is None:
        return {"deadline": None}
    state = clock.case_clock(application.case_type, application.received_on,
                             application.completion_requested_on, application.complete_on,
                             application.extended_weeks)
    return {"deadline": state.deadline}


def case_clock_of(application: Application) -> clock.Clock | None:
    """The case's PBL clock (None before it was received)."""
    if application.received_on is None:
        return None
    return clock.case_clock(application.case_type, application.received_on,
                            application.completion_requested_on, application.complete_on,
                            application.extended_weeks)


def case_transition(*, actor: Any, application: Application, action: str,
                    move: Move | None = None, ip: str | None = None) -> Application:
    """Make one move of a case's workflow, or refuse it and change nothing.

    IllegalTransition (409) when the move does not start from the case's state, or
    someone moved the case first; NotAllowed (403) when the actor's role does not allow
    it; InvalidCasework (400) when what the move needs is missing or wrong.
    """
    move = move or Move()
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise IllegalTransition(_("There is no action %(action)s.") % {"action": action})
    current = application.status
    if current not in transition.sources:
        raise IllegalTransition(
            _("A case that is %(status)s cannot be moved by “%(action)s”.")
            % {"status": Status(current).label, "action": transition.label})
    roles = roles_in(actor, application)
    if transition.role not in roles:
        raise NotAllowed(_("Only a %(role)s of %(municipality)s may do this.") % {
            "role": Role(transition.role).label,
            "municipality": application.municipality.name if application.municipality
            else "-"})
    if transition.needs_reason and not move.reason.strip():
        raise InvalidCasework(_("Give a reason."))
    handler = HANDLERS.get(action, _no_more)
    with transaction.atomic():
        changes, effect = handler(actor, application, move)
        changes["status"] = transition.target
        moved = Application.objects.filter(pk=application.pk, status=current).update(
            **changes)
        if not moved:
            raise IllegalTransition(_("Someone else moved the case first; reload it."))
        for name, value in changes.items():
            setattr(application, name, value)
        deadline = _refresh_deadline(application)
        Application.objects.filter(pk=application.pk).update(**deadline)
        application.deadline = deadline["deadline"]
        if effect is not None:
            effect()
        # The audit row keeps what the move changed besides the state (dates, the fee).
        data = {"from": current, "to": transition.target, **{
            name: str(value) if isinstance(value, date) else value
            for name, value in changes.items() if name in AUDITED}}
        event_record(application, actor, action, move.reason, audience=AUDIENCE.get(
            action, Audience.STAFF), ip=ip, data=data)
    return application


Handler = Callable[[Any, Application, Move], tuple[dict[str, Any], Callable[[], None] | None]]


def _no_more(actor: Any, application: Application, move: Move
             ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    return {}, None


def _day(move: Move, application: Application) -> date:
    """The day a move takes effect: given (not in the future, not before receipt) or today."""
    today = service_clock.today()
    day = move.on or today
    if day > today:
        raise InvalidCasework(_("The date cannot be in the future."))
    if application.received_on and day < application.received_on:
        raise InvalidCasework(_("The date cannot be before the application was received."))
    return day


def _request_completion(actor: Any, application: Application, move: Move
                        ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    today = service_clock.today()
    items = [(kind, text.strip()) for kind, text in move.items if kind or text.strip()]
    if not items and not move.reason.strip():
        raise InvalidCasework(_("Say what is missing."))
    valid = {*AttachmentKind.values, CompletionItem.TEXT}
    if any(kind not in valid for kind, _text in items):
        raise InvalidCasework(_("Choose what kind of document is missing."))
    reply_by = move.reply_by or today + timedelta(weeks=3)
    if reply_by <= today:
        raise InvalidCasework(_("The reply date must be after today."))
    changes: dict[str, Any] = {}
    if application.completion_requested_on is None:
        changes["completion_requested_on"] = today

    def create() -> None:
        request = CompletionRequest.objects.create(
            application=application, requested_by=actor, requested_on=today,
            reply_by=reply_by, message=move.reason.strip())
        CompletionItem.objects.bulk_create(
            CompletionItem(request=request, kind=kind or CompletionItem.TEXT, description=text)
            for kind, text in items)
        _tell_applicant(application, _("Your application %(number)s needs completing") % {
            "number": application.case_number}, _(
            "The municipality asks you to complete your application %(number)s by "
            "%(day)s. See what is missing, and send it, under My applications.") % {
            "number": application.case_number, "day": f"{reply_by:%Y-%m-%d}"})

    return changes, create


def _mark_complete(actor: Any, application: Application, move: Move
                   ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    day = _day(move, application)
    if application.completion_requested_on and day < application.completion_requested_on:
        raise InvalidCasework(_("It cannot be complete before completion was requested."))
    return {"complete_on": day}, None


def _propose(actor: Any, application: Application, move: Move
             ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    if move.outcome not in Outcome.values:
        raise InvalidCasework(_("Choose the outcome of the decision."))
    if application.status == Status.INCOMPLETE and move.outcome != Outcome.DISMISSED:
        raise InvalidCasework(_("An application that was never completed can only be "
                                "dismissed."))
    if not move.reason.strip():
        raise InvalidCasework(_("Give the reasons for the decision."))

    def create() -> None:
        Decision.objects.create(application=application, outcome=move.outcome,
                                reasons=move.reason.strip(), conditions=move.conditions.strip(),
                                delegation_point=move.delegation_point.strip(),
                                proposed_by=actor)

    return {}, create


def _proposal(application: Application) -> Decision:
    proposal = application.decisions.filter(state=Decision.State.PROPOSED).order_by(
        "-proposed_at", "-id").first()
    if proposal is None:
        raise IllegalTransition(_("There is no proposed decision."))
    return proposal


def _approve(actor: Any, application: Application, move: Move
             ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    proposal = _proposal(application)
    if _committee(application).four_eyes and proposal.proposed_by_id == actor.pk:
        raise NotAllowed(_("A decision you proposed is approved by another decision-maker."))
    decided = service_clock.today()
    state = case_clock_of(application)
    fifths = state.reduction_fifths(decided) if state else 0
    received = application.received_on or decided
    fee = fee_for(application.fee_table, application.case_type,
                  application.building_area_m2, received.year)

    def approve() -> None:
        updated = Decision.objects.filter(pk=proposal.pk, state=Decision.State.PROPOSED).update(
            state=Decision.State.APPROVED, decided_by=actor, decided_at=service_clock.now(),
            fee_sek=fee, reduction_fifths=fifths)
        if not updated:
            raise IllegalTransition(_("Someone else moved the case first; reload it."))
        proposal.refresh_from_db()
        decision_document_make(decision=proposal, actor=actor)
        _tell_applicant(application, _("A decision on your application %(number)s") % {
            "number": application.case_number}, _(
            "The municipality has decided on your application %(number)s. Download the "
            "decision under My applications.") % {"number": application.case_number})

    return {"decided_on": decided, "outcome": proposal.outcome, "fee_sek": fee,
            "fee_reduction_fifths": fifths}, approve


def _send_back(actor: Any, application: Application, move: Move
               ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    proposal = _proposal(application)

    def send_back() -> None:
        Decision.objects.filter(pk=proposal.pk).update(state=Decision.State.SENT_BACK,
                                                       comment=move.reason.strip(),
                                                       decided_by=actor)

    return {}, send_back


def _notify(actor: Any, application: Application, move: Move
            ) -> tuple[dict[str, Any], Callable[[], None] | None]:
    day = _day(move, application)
    if application.decided_on and day < application.decided_on:
        raise InvalidCasework(_("A decision is served after it was made."))
    return {"notified_on": day}, None


HANDLERS: dict[str, Handler] = {
    "request_completion": _request_completion, "mark_complete": _mark_complete,
    "propose": _propose, "approve": _approve, "send_back": _send_back, "notify": _notify,
}
# What a move changes that its audit row keeps.
AUDITED = ("complete_on", "decided_on", "outcome", "fee_sek", "fee_reduction_fifths",
           "notified_on")
# Moves the applicant sees in their own history.
AUDIENCE = {action: Audience.APPLICANT for action in (
    "submit", "request_completion", "mark_complete", "approve", "notify", "withdraw")}


def case_assign(*, actor: Any, application: Application, officer: Any,
                ip: str | None = None) -> Application:
    """Assign a case to an officer of its municipality (``officer=actor`` takes it)."""
    if Role.OFFICER not in roles_in(actor, application):
        raise NotAllowed(_("Only an officer of the municipality assigns cases."))
    if officer is not None and not StaffRole.objects.filter(
            user=officer, municipality_id=application.municipality_id,
            role=Role.OFFICER).exists():
        raise InvalidCasework(_("%(name)s is not an officer of %(municipality)s.") % {
            "name": officer.get_full_name() or officer.get_username(),
            "municipality": application.municipality.name})
    before = application.assigned_to
    with transaction.atomic():
        Application.objects.filter(pk=application.pk).update(assigned_to=officer)
        application.assigned_to = officer
        event_record(application, actor, "assigned",
                     officer.get_full_name() or officer.get_username() if officer else "",
                     ip=ip, data={"from": getattr(before, "pk", None),
                                  "to": getattr(officer, "pk", None)})
    return application


def case_extend(*, actor: Any, application: Application, weeks: int, reason: str,
                ip: str | None = None) -> Application:
    """Extend the time limit once (a recorded decision with its reason, before the first
    deadline passes); the applicant is told in their history."""
    if Role.OFFICER not in roles_in(actor, application):
        raise NotAllowed(_("Only an officer of the municipality extends the time limit."))
    if application.status not in (Status.COMPLETE, Status.REVIEW, Status.HEARING,
                                  Status.SUBMITTED, Status.INCOMPLETE):
        raise IllegalTransition(_("The time limit of a case that is %(status)s cannot be "
                                  "extended.") % {"status": Status(application.status).label})
    if not reason.strip():
        raise InvalidCasework(_("Give the reason for the extension."))
    state = case_clock_of(application)
    if state is None:
        raise InvalidCasework(_("The case has not been received."))
    try:
        clock.check_extension(state, weeks, service_clock.today())
    except clock.ClockError as exc:
        raise InvalidCasework(str(exc)) from exc
    with transaction.atomic():
        moved = Application.objects.filter(pk=application.pk, extended_weeks=0).update(
            extended_weeks=weeks, extension_reason=reason.strip())
        if not moved:
            raise IllegalTransition(_("The time limit has already been extended."))
        application.extended_weeks, application.extension_reason = weeks, reason.strip()
        deadline = _refresh_deadline(application)
        Application.objects.filter(pk=application.pk).update(**deadline)
        application.deadline = deadline["deadline"]
        event_record(application, actor, "extended", reason.strip(),
                     audience=Audience.APPLICANT, ip=ip,
                     data={"weeks": weeks, "deadline": str(application.deadline)})
    return application


def transitions_for(actor: Any, application: Application) -> list[Transition]:
    """The moves the actor may make on the case now."""
    from permits.workflow import transitions_from

    return transitions_from(application.status, roles_in(actor, application))


def decision_document_make(*, decision: Decision, actor: Any = None) -> Decision:
    """Write the approved decision's PDF/A document and record it in the audit trail."""
    import hashlib

    from django.core.files.base import ContentFile

    from permits.documents.decision import decision_pdf

    content = decision_pdf(decision)
    digest = hashlib.sha256(content).hexdigest()
    name = (decision.application.case_number or str(decision.application_id)).replace(" ", "-")
    decision.document.save(f"beslut-{name}-{decision.pk}.pdf", ContentFile(content),
                           save=False)
    decision.document_sha256 = digest
    decision.save(update_fields=["document", "document_sha256"])
    event_record(decision.application, actor, "document", _("decision (PDF/A)"),
                 data={"decision": decision.pk, "sha256": digest})
    return decision


def completion_attach(*, actor: Any, application: Application, kind: str,
                      upload: Any) -> Any:
    """Attach a document to the open completion request (kept beside the first ones)."""
    from permits.attachments import check_pdf
    from permits.models import Attachment

    request = _open_request(actor, application)
    if kind not in AttachmentKind.values:
        raise InvalidCasework(_("Choose what kind of document it is."))
    checked = check_pdf(upload, application.attachments.count())
    attachment = Attachment(application=application, kind=kind, completion=request,
                            original_name=(upload.name or "dokument.pdf")[:255],
                            size=checked.size, sha256=checked.sha256, pages=checked.pages)
    attachment.file.save(f"{application.pk}-{checked.sha256[:16]}.pdf", upload, save=False)
    attachment.save()
    event_record(application, actor, "attachment", f"{attachment.get_kind_display()}: "
                 f"{attachment.original_name}", audience=Audience.APPLICANT)
    return attachment


def completion_send(*, actor: Any, application: Application, answer: str,
                    ip: str | None = None) -> CompletionRequest:
    """Send the completion: the answer and the documents attached to the request; the
    officer is told. The request stays on the case with everything that was sent."""
    request = _open_request(actor, application)
    if not answer.strip() and not request.attachments.exists():
        raise InvalidCasework(_("Attach a document or write an answer first."))
    with transaction.atomic():
        sent = CompletionRequest.objects.filter(pk=request.pk, answered_at=None).update(
            answered_at=service_clock.now(), answer=answer.strip())
        if not sent:
            raise IllegalTransition(_("The completion has already been sent."))
        request.refresh_from_db()
        event_record(application, actor, "completion_sent", answer.strip()[:500],
                     audience=Audience.APPLICANT, ip=ip)
    _tell_officer(application, _("Completion received for %(number)s") % {
        "number": application.case_number})
    return request


def _open_request(actor: Any, application: Application) -> CompletionRequest:
    if application.applicant_id != getattr(actor, "pk", None):
        raise NotAllowed(_("Only the applicant completes the application."))
    if application.status != Status.INCOMPLETE:
        raise IllegalTransition(_("No completion is requested for this case."))
    request = application.completion_requests.filter(answered_at=None).order_by(
        "-requested_on", "-id").first()
    if request is None:
        raise IllegalTransition(_("The completion has already been sent."))
    return request


def _tell_officer(application: Application, subject: str) -> None:
    """E-mail the case's officer (if it has one)."""
    officer = application.assigned_to
    if officer is not None and officer.email:
        _mail(officer.email, subject, subject)


def _tell_applicant(application: Application, subject: str, body: str) -> None:
    """E-mail the applicant; they find the same on their case under My applications."""
    if application.contact_email:
        _mail(application.contact_email, subject, body)


def _mail(address: str, subject: str, body: str) -> None:
    """Send an e-mail after the transaction commits; the case is changed whatever happens
    to the e-mail (a failure is logged)."""
    import logging

    from django.conf import settings
    from django.core.mail import send_mail

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except OSError as exc:
            logging.getLogger(__name__).error("e-mail to %s failed: %s", address, exc)

    transaction.on_commit(send)
