"""The demo's case history, as `make run` loads it: two municipalities sharing the
installation, each with its own GIS server, officers and cases in every state; some
decided late with the fee reduced by the clock, some overdue; each officer sees only
their own municipality's."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from permits import clock
from permits.models import Application, ApplicationEvent, Decision
from permits.services import clock as service_clock
from permits.workflow import Status

pytestmark = pytest.mark.django_db


def test_every_state_in_both_municipalities(demo_cases):
    for code, prefix in (("2280", "MBN 2026-"), ("2281", "BYGG 2026-")):
        cases = demo_cases.filter(municipality__kommunkod=code)
        states = set(cases.values_list("status", flat=True))
        assert states == set(Status.values) - {Status.DRAFT}, code
        numbers = list(cases.values_list("case_number", flat=True))
        assert all(n.startswith(prefix) for n in numbers) and len(set(numbers)) == 20
        # Each case stands on a property of its own municipality.
        assert set(cases.values_list("parcel__kommunkod", flat=True)) == {code}
        # Case numbers follow the days of receipt.
        by_number = list(cases.order_by("case_number").values_list("received_on", flat=True))
        assert by_number == sorted(by_number)


def test_late_decisions_are_reduced_by_the_clock_and_some_cases_are_overdue(demo_cases):
    today = service_clock.today()
    for code in ("2280", "2281"):
        cases = demo_cases.filter(municipality__kommunkod=code)
        late = [c for c in cases.filter(decided_on__isnull=False)
                if c.deadline and c.decided_on > c.deadline]
        assert {c.fee_reduction_fifths for c in late} >= {2, 5}, code
        for case in cases.filter(decided_on__isnull=False):
            state = clock.case_clock(case.case_type, case.received_on,
                                     case.completion_requested_on, case.complete_on,
                                     case.extended_weeks)
            assert case.fee_reduction_fifths == state.reduction_fifths(case.decided_on)
            decision = case.decisions.get(state=Decision.State.APPROVED)
            assert decision.decided_by_id != decision.proposed_by_id  # four eyes
            assert decision.document.name.endswith(".pdf")
        overdue = [c for c in cases.filter(status__in=[Status.SUBMITTED, Status.REVIEW])
                   if c.deadline and c.deadline < today]
        assert len(overdue) >= 2, code
        assert cases.filter(extended_weeks=10).count() == 1
        # The history is the services' own: every move in the audit trail, in order.
        reviewed = cases.get(status=Status.HEARING)
        kinds = list(ApplicationEvent.objects.filter(application=reviewed)
                     .order_by("at", "id").values_list("kind", flat=True))
        assert [k for k in kinds if k not in ("created", "saved", "attachment")] == [
            "submitted", "assigned", "mark_complete", "start_review", "start_hearing"]


def test_each_officer_sees_only_their_municipality(demo_cases, demo_users):
    for officer, own, other in (("handlaggare", "BYGG 2026-", "MBN 2026-"),
                                ("handlaggare-harnosand", "MBN 2026-", "BYGG 2026-")):
        client = Client()
        client.force_login(demo_users[officer])
        page = client.get("/handlaggare/arenden/?queue=all").content.decode()
        assert own in page and other not in page, officer
        overdue = client.get("/handlaggare/arenden/?queue=overdue").content.decode()
        assert own in overdue, officer
        foreign = demo_cases.filter(case_number__startswith=other).first()
        assert client.get(f"/handlaggare/arenden/{foreign.pk}/").status_code == 404


def test_a_second_load_makes_nothing(demo_cases, capsys):
    before = demo_cases.count()
    call_command("lovkarta_demo_cases")
    assert "already there" in capsys.readouterr().out
    assert Application.objects.exclude(status=Status.DRAFT).count() == before
