"""Services that change permit data: every business rule that writes lives here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.crs import WEB_SRID, point_to_srid
from geodata.errors import CRSMismatch
from geodata.models import Municipality
from geodata.selectors import parcel_at
from permits.exceptions import InvalidApplication
from permits.models import Application, CaseCounter
from permits.workflow import Status

CASE_PREFIX = "BYGG"


@dataclass(frozen=True)
class ApplicationInput:
    """What an applicant submits."""

    case_type: str
    measure: str
    description: str
    lon: float
    lat: float
    submission_key: uuid.UUID


def case_number_next(municipality: Municipality, year: int) -> str:
    """Take the next case number of a municipality and year, e.g. ``BYGG 2026-000123``.

    Must run inside a transaction: the counter row is updated in place, so concurrent
    submissions never get the same number.
    """
    counter, _created = CaseCounter.objects.get_or_create(municipality=municipality, year=year)
    CaseCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db(fields=["last"])
    return f"{CASE_PREFIX} {year}-{counter.last:06d}"


def _municipality_for(kommunkod: str | None) -> Municipality:
    code = kommunkod or settings.LOVKARTA_DEFAULT_KOMMUNKOD
    municipality = Municipality.objects.filter(kommunkod=code).first()
    if municipality is None:
        raise InvalidApplication(
            _("Municipality %(code)s does not take applications in this service.")
            % {"code": code})
    return municipality


def application_submit(applicant: AbstractBaseUser, data: ApplicationInput) -> Application:
    """Store a submitted application, joined to the parcel under its location.

    Idempotent: the same ``submission_key`` (a double click, a replayed request) returns
    the application it created the first time. The parcel comes from the cache, so an
    applicant can submit even when Lantmäteriet is down; with no parcel found the
    application is stored without one and the officer places it.
    """
    existing = Application.objects.filter(submission_key=data.submission_key).first()
    if existing is not None:
        if existing.applicant_id != applicant.pk:
            raise InvalidApplication(_("This form has already been used by someone else."))
        return existing
    try:
        x, y = point_to_srid(data.lon, data.lat, WEB_SRID, settings.STORAGE_SRID)
        parcel = parcel_at(data.lon, data.lat, WEB_SRID)
    except CRSMismatch as exc:
        raise InvalidApplication(_("The pinned location is not in Sweden.")) from exc
    municipality = _municipality_for(parcel.kommunkod if parcel else None)
    now = timezone.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                municipality=municipality, applicant=applicant, case_type=data.case_type,
                measure=data.measure, description=data.description,
                location=Point(x, y, srid=settings.STORAGE_SRID), parcel=parcel,
                property_designation=parcel.beteckning if parcel else "",
                parcel_objektidentitet=parcel.objektidentitet if parcel else None,
                status=Status.SUBMITTED, submission_key=data.submission_key,
                submitted_at=now,
                case_number=case_number_next(municipality, timezone.localdate(now).year))
    except IntegrityError:
        # Two requests with one key raced; the other one won.
        existing = Application.objects.filter(submission_key=data.submission_key).first()
        if existing is None:
            raise
        return existing
    return application
