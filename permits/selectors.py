"""Read-only queries of permit data."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from permits.models import Application

OFFICER_GROUP = "handlaggare"
GIS_GROUP = "gis"


def is_officer(user: AbstractBaseUser) -> bool:
    """Return True if the user is a planning officer."""
    return bool(user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=OFFICER_GROUP).exists()))  # type: ignore[attr-defined]


def applications_for_officer(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return the applications an officer may see (all of the installation, for now)."""
    return Application.objects.select_related("applicant", "municipality").exclude(
        status="draft")


def applications_for_applicant(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return an applicant's own applications."""
    return Application.objects.filter(applicant_id=user.pk).select_related("municipality")
