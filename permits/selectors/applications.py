"""Read-only queries of permit data."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from permits.models import Application
from permits.selectors.casework import cases_for_staff, is_staff_member

GIS_GROUP = "gis"


def is_officer(user: AbstractBaseUser) -> bool:
    """Return True if the user works on cases (a staff role in some municipality)."""
    return is_staff_member(user)


def applications_for_officer(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return the sent applications of the municipalities where the user holds a role."""
    return cases_for_staff(user)


def applications_for_applicant(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return an applicant's own applications."""
    return Application.objects.filter(applicant_id=user.pk).select_related("municipality")
