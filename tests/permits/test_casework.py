"""Casework services: the workflow is enforced, roles are scoped to municipalities, the
clock's dates follow the moves, and the audit trail is append-only."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from permits.exceptions import AppendOnly, IllegalTransition, InvalidCasework, NotAllowed
from permits.models import Application, ApplicationEvent, CompletionRequest, Decision
from permits.selectors.casework import QueueFilter, case_get, case_queue
from permits.services.applications import application_submit
from permits.services.casework import (
    Move,
    case_assign,
    case_extend,
    case_transition,
)
from permits.services.clock import as_of
from permits.workflow import Outcome, Status
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(applicant, draft, demo_users):
    """A building permit application received on Monday 2 March 2026."""
    applicant.post(f"/ansokan/{draft.pk}/redigera/",
                   fields(attachment_kind="situationsplan", attachment_file=pdf_upload()))
    draft.refresh_from_db()
    with as_of(date(2026, 3, 2)):
        application_submit(draft, demo_users["sokande"])
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED and draft.received_on == date(2026, 3, 2)
    assert draft.deadline == date(2026, 5, 11)
    # 120 m² by Sundsvall's demo taxa: 0.45 of the price base amount of 2026 (59,200 kr).
    assert draft.fee_table.municipality.kommunkod == "2281" and draft.fee_sek == 26_640
    return draft


def move(application, user, action, day=date(2026, 3, 10), **kwargs):
    with as_of(day):
        return case_transition(actor=user, application=application, action=action,
                               move=Move(**kwargs))


def test_an_illegal_transition_is_refused_and_changes_nothing(received, demo_users):
    events = ApplicationEvent.objects.filter(application=received).count()
    with pytest.raises(IllegalTransition, match="kan inte flyttas"):
        move(received, demo_users["beslutsfattare"], "approve")
    with pytest.raises(IllegalTransition, match="ingen åtgärd"):
        move(received, demo_users["handlaggare"], "teleport")
    received.refresh_from_db()
    assert received.status == Status.SUBMITTED
    assert ApplicationEvent.objects.filter(application=received).count() == events


def test_roles_are_scoped_to_the_municipality(received, demo_users):
    with pytest.raises(NotAllowed, match="handläggare i Sundsvall"):
        move(received, demo_users["handlaggare-harnosand"], "mark_complete")
    with pytest.raises(NotAllowed):
        move(received, demo_users["sokande"], "mark_complete")
    with pytest.raises(Application.DoesNotExist):
        case_get(user=demo_users["handlaggare-harnosand"], pk=received.pk)
    assert case_get(user=demo_users["handlaggare"], pk=received.pk) == received
    assert not case_queue(user=demo_users["handlaggare-harnosand"], filters=QueueFilter(),
                          today=date(2026, 3, 10)).exists()


def test_a_timely_completion_request_restarts_the_clock(received, demo_users):
    officer = demo_users["handlaggare"]
    move(received, officer, "request_completion", date(2026, 3, 16),
         reason="Situationsplanen saknar skala.", items=[("situationsplan", "Med skala 1:500")],
         reply_by=date(2026, 4, 6))
    received.refresh_from_db()
    assert received.status == Status.INCOMPLETE and received.deadline is None
    request = CompletionRequest.objects.get(application=received)
    assert [(i.kind, i.description) for i in request.items.all()] == [
        ("situationsplan", "Med skala 1:500")]
    move(received, officer, "mark_complete", date(2026, 4, 1))
    received.refresh_from_db()
    assert received.status == Status.COMPLETE and received.deadline == date(2026, 6, 10)


def test_a_late_completion_request_leaves_the_clock_running_from_receipt(received,
                                                                       demo_users):
    move(received, demo_users["handlaggare"], "request_completion", date(2026, 3, 30),
         reason="Fasadritning saknas.")
    received.refresh_from_db()
    assert received.deadline == date(2026, 5, 11)


def decide(application, users, decided_on, outcome=Outcome.GRANTED):
    officer, boss = users["handlaggare"], users["beslutsfattare"]
    move(application, officer, "mark_complete", application.received_on)
    move(application, officer, "start_review", application.received_on)
    move(application, officer, "propose", decided_on, outcome=outcome,
         reason="Åtgärden följer detaljplanen.", delegation_point="3.1")
    return move(application, boss, "approve", decided_on)


def test_a_decision_needs_four_eyes(received, demo_users):
    both = demo_users["beslutsfattare"]  # an officer who is also a decision-maker
    move(received, demo_users["handlaggare"], "mark_complete", date(2026, 3, 2))
    move(received, both, "start_review", date(2026, 3, 3))
    move(received, both, "propose", date(2026, 5, 12), outcome=Outcome.GRANTED,
         reason="Följer planen.")
    with pytest.raises(NotAllowed, match="godkänns av en annan"):
        move(received, both, "approve", date(2026, 5, 12))
    received.refresh_from_db()
    assert received.status == Status.PROPOSED


def test_a_late_decision_reduces_the_fee_by_started_weeks(received, demo_users):
    decide(received, demo_users, date(2026, 5, 19))  # 8 days late: 2 started weeks
    received.refresh_from_db()
    assert received.status == Status.DECIDED and received.outcome == Outcome.GRANTED
    assert received.decided_on == date(2026, 5, 19) and received.fee_reduction_fifths == 2
    decision = Decision.objects.get(application=received, state=Decision.State.APPROVED)
    assert decision.decided_by == demo_users["beslutsfattare"]
    assert decision.reduction_fifths == 2 and decision.fee_sek == received.fee_sek == 26_640
    # The audit row of the approval keeps the fee and its reduction.
    approval = ApplicationEvent.objects.get(application=received, kind="approve")
    assert approval.data == {"from": "proposed", "to": "decided", "decided_on": "2026-05-19",
                             "outcome": "granted", "fee_sek": 26_640,
                             "fee_reduction_fifths": 2}


def test_a_proposal_sent_back_needs_a_comment(received, demo_users):
    officer, boss = demo_users["handlaggare"], demo_users["beslutsfattare"]
    move(received, officer, "mark_complete", date(2026, 3, 2))
    move(received, officer, "start_review")
    move(received, officer, "propose", outcome=Outcome.REFUSED, reason="Strider mot planen.")
    with pytest.raises(InvalidCasework, match="skäl"):
        move(received, boss, "send_back")
    move(received, boss, "send_back", reason="Motivera avvikelsen närmare.")
    received.refresh_from_db()
    assert received.status == Status.REVIEW
    assert Decision.objects.get(application=received).state == Decision.State.SENT_BACK


def test_only_a_dismissal_for_an_application_never_completed(received, demo_users):
    officer = demo_users["handlaggare"]
    move(received, officer, "request_completion", reason="Ritningar saknas.")
    with pytest.raises(InvalidCasework, match="bara avvisas"):
        move(received, officer, "propose", outcome=Outcome.GRANTED, reason="x")
    move(received, officer, "propose", outcome=Outcome.DISMISSED, reason="Inte kompletterad.")


def test_the_applicant_withdraws_before_a_decision_only(received, demo_users):
    move(received, demo_users["sokande"], "withdraw", reason="Vi bygger inte.")
    received.refresh_from_db()
    assert received.status == Status.WITHDRAWN
    with pytest.raises(IllegalTransition):
        move(received, demo_users["sokande"], "withdraw")


def test_an_extension_once_before_the_deadline(received, demo_users):
    officer = demo_users["handlaggare"]
    with as_of(date(2026, 4, 1)):
        case_extend(actor=officer, application=received, weeks=10,
                    reason="Grannar måste höras.")
        with pytest.raises(IllegalTransition, match="redan förlängts"):
            received.extended_weeks = 0  # a stale copy of the case
            case_extend(actor=officer, application=received, weeks=2, reason="Igen.")
    received.refresh_from_db()
    assert received.deadline == date(2026, 7, 20) and received.extended_weeks == 10


def test_an_extension_after_the_deadline_is_refused(received, demo_users):
    with as_of(date(2026, 5, 12)), pytest.raises(InvalidCasework, match="inte längre förlängas"):
        case_extend(actor=demo_users["handlaggare"], application=received, weeks=5,
                    reason="Sent.")


def test_assignment_to_an_officer_of_the_municipality(received, demo_users):
    case_assign(actor=demo_users["handlaggare"], application=received,
                officer=demo_users["handlaggare"])
    mine = case_queue(user=demo_users["handlaggare"], filters=QueueFilter(queue="mine"),
                      today=date(2026, 3, 10))
    assert list(mine) == [received]
    with pytest.raises(InvalidCasework, match="är inte handläggare i Sundsvall"):
        case_assign(actor=demo_users["handlaggare"], application=received,
                    officer=demo_users["handlaggare-harnosand"])


def test_overdue_queue(received, demo_users):
    officer = demo_users["handlaggare"]
    assert not case_queue(user=officer, filters=QueueFilter(queue="overdue"),
                          today=date(2026, 5, 11)).exists()
    assert list(case_queue(user=officer, filters=QueueFilter(queue="overdue"),
                           today=date(2026, 5, 12))) == [received]


def test_the_audit_trail_cannot_be_changed(received):
    event = ApplicationEvent.objects.filter(application=received).first()
    event.text = "ändrad"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        ApplicationEvent.objects.filter(application=received).update(text="x")
    with pytest.raises(AppendOnly):
        ApplicationEvent.objects.filter(application=received).delete()
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        received.delete()  # a case with a history is kept


@pytest.mark.django_db(transaction=True)
def test_two_decision_makers_approving_at_once_give_one_decision(
        applicant, draft, demo_users, django_db_blocker):
    """Two decision-makers press approve at the same moment, each on a connection of
    their own: one decision, the other is told the case moved."""
    from django.contrib.auth.models import User

    from geodata.models import Municipality
    from permits.models import StaffRole
    from permits.workflow import Role

    applicant.post(f"/ansokan/{draft.pk}/redigera/",
                   fields(attachment_kind="situationsplan", attachment_file=pdf_upload()))
    with as_of(date(2026, 3, 2)):
        application_submit(Application.objects.get(pk=draft.pk), demo_users["sokande"])
    second = User.objects.create(username="beslutsfattare2")
    StaffRole.objects.create(user=second, role=Role.DECISION_MAKER,
                             municipality=Municipality.objects.get(kommunkod="2281"))
    case = Application.objects.get(pk=draft.pk)
    officer = demo_users["handlaggare"]
    move(case, officer, "mark_complete", date(2026, 3, 2))
    move(case, officer, "start_review")
    move(case, officer, "propose", outcome=Outcome.GRANTED, reason="Följer planen.")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            copy = Application.objects.get(pk=draft.pk)
            barrier.wait(timeout=10)
            move(copy, user, "approve", date(2026, 4, 1))
            outcomes.append("decided")
        except IllegalTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,))
               for u in (demo_users["beslutsfattare"], second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["decided", "refused"]
    assert Decision.objects.filter(application_id=draft.pk,
                                   state=Decision.State.APPROVED).count() == 1
    assert ApplicationEvent.objects.filter(application_id=draft.pk, kind="approve").count() == 1
    assert Application.objects.get(pk=draft.pk).decided_on == date(2026, 4, 1)
