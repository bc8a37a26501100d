"""Reads for casework, always scoped to the municipalities where the user holds a role:
a case of another municipality does not exist for them (404 everywhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from permits.models import Application, StaffRole
from permits.workflow import CLOSED, OPEN, Role, Status


def roles_by_municipality(user: Any) -> dict[int, set[str]]:
    """Return {municipality id: {roles}} of a member of staff (empty for others)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    found: dict[int, set[str]] = {}
    for municipality_id, role in StaffRole.objects.filter(user_id=user.pk).values_list(
            "municipality_id", "role"):
        found.setdefault(municipality_id, set()).add(role)
    return found


def is_staff_member(user: Any) -> bool:
    """Return True if the user holds a casework role in some municipality."""
    return bool(getattr(user, "is_authenticated", False) and (
        user.is_superuser or StaffRole.objects.filter(user_id=user.pk).exists()))


def roles_in(user: Any, application: Application) -> set[str]:
    """The roles a user has in a case: their staff roles in its municipality, and
    applicant if it is theirs."""
    roles = set(StaffRole.objects.filter(
        user_id=user.pk, municipality_id=application.municipality_id).values_list(
        "role", flat=True)) if getattr(user, "is_authenticated", False) else set()
    if application.applicant_id == getattr(user, "pk", None):
        roles.add(Role.APPLICANT)
    return roles


def cases_for_staff(user: Any) -> QuerySet[Application]:
    """Every sent case of the municipalities where the user holds a role."""
    cases = Application.objects.exclude(status=Status.DRAFT).select_related(
        "municipality", "assigned_to", "applicant")
    if getattr(user, "is_superuser", False):
        return cases
    return cases.filter(municipality_id__in=StaffRole.objects.filter(
        user_id=getattr(user, "pk", None)).values("municipality_id"))


@dataclass(frozen=True)
class QueueFilter:
    """What a queue shows: which queue, and the filters an officer may set."""

    queue: str = "all"  # mine, unassigned, overdue, all
    status: str = ""
    case_type: str = ""
    deadline_before: date | None = None
    property: str = ""
    applicant: str = ""
    municipality: str = ""  # kommunkod
    sort: str = "deadline"


SORTS = {
    "deadline": ("deadline", "received_on", "id"),
    "-deadline": ("-deadline", "-received_on", "-id"),
    "received": ("received_on", "id"),
    "-received": ("-received_on", "-id"),
    "case_number": ("case_number",),
    "property": ("property_designation", "id"),
}
QUEUES = ("mine", "unassigned", "overdue", "all")


def case_queue(*, user: Any, filters: QueueFilter, today: date) -> QuerySet[Application]:
    """Return a queue of cases for a member of staff, filtered and sorted."""
    cases = cases_for_staff(user)
    if filters.queue == "mine":
        cases = cases.filter(assigned_to_id=user.pk, status__in=OPEN | {Status.DECIDED})
    elif filters.queue == "unassigned":
        cases = cases.filter(assigned_to__isnull=True, status__in=OPEN)
    elif filters.queue == "overdue":
        cases = cases.filter(status__in=OPEN, deadline__lt=today)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.case_type:
        cases = cases.filter(case_type=filters.case_type)
    if filters.deadline_before:
        cases = cases.filter(deadline__lte=filters.deadline_before)
    if filters.municipality:
        cases = cases.filter(municipality__kommunkod=filters.municipality)
    if filters.property:
        cases = cases.filter(property_designation__icontains=filters.property.strip())
    if filters.applicant:
        text = filters.applicant.strip()
        cases = cases.filter(Q(contact_name__icontains=text) | Q(contact_email__icontains=text)
                             | Q(applicant__username__icontains=text))
    return cases.order_by(*SORTS.get(filters.sort, SORTS["deadline"]))


def case_get(*, user: Any, pk: int) -> Application:
    """Return one case the user may see as staff; Application.DoesNotExist otherwise."""
    return cases_for_staff(user).get(pk=pk)


def queue_counts(*, user: Any, today: date) -> dict[str, int]:
    """How many cases each queue holds for the user."""
    return {queue: case_queue(user=user, filters=QueueFilter(queue=queue), today=today)
            .count() for queue in QUEUES}


def is_closed(application: Application) -> bool:
    return application.status in CLOSED
