"""Services that change permit data: every business rule that writes lives here."""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.crs import STORAGE_SRID, WEB_SRID, point_to_srid
from geodata.errors import CRSMismatch, InvalidInput, LimitExceeded
from geodata.geojson_input import features_from_geojson, geometry_from_geojson
from geodata.models import Municipality, Parcel
from geodata.selectors import parcel_at, property_parcels
from permits.attachments import check_pdf
from permits.clock import case_clock
from permits.exceptions import InvalidApplication, NotEditable
from permits.guidance import REQUIRED_TO_SUBMIT
from permits.models import (
    Application,
    ApplicationEvent,
    Attachment,
    AttachmentKind,
    CaseCounter,
    Committee,
    DrawnFeature,
    Feedback,
)
from permits.services import clock as service_clock
from permits.services.casework import event_record
from permits.services.checks import checks_on_receipt
from permits.services.fees import fee_estimate, fee_table_in_force
from permits.workflow import Status

log = logging.getLogger(__name__)
CASE_PREFIX = "BYGG"


class FieldError(InvalidApplication):
    """An error that belongs to one field of the form."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass
class DraftInput:
    """What the applicant has filled in so far; everything may still be missing."""

    case_type: str
    measure: str
    description: str = ""
    building_area_m2: float | None = None
    height_m: float | None = None
    floors: int | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    lon: float | None = None
    lat: float | None = None
    parcel_objektidentitet: str = ""
    whole_parcel: bool = False
    corners: str = ""
    drawn: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _event(application: Application, actor: AbstractBaseUser | None, kind: str,
           text: str = "") -> None:
    """Record an event of the applicant's own (they see it in their history)."""
    event_record(application, actor, kind, text, audience=ApplicationEvent.Audience.APPLICANT)


def application_start(applicant: AbstractBaseUser, case_type: str,
                      measure: str) -> Application:
    """Create a draft application of the case type the guidance arrived at."""
    application = Application.objects.create(applicant=applicant, case_type=case_type,
                                             measure=measure, status=Status.DRAFT,
                                             contact_email=getattr(applicant, "email", ""))
    _event(application, applicant, "created")
    return application


def _editable(application: Application) -> None:
    if application.status != Status.DRAFT:
        raise NotEditable(_("The application has been sent and can no longer be changed."))


# What the applicant fills in, and what a draft save writes: never the status, the case
# number or the casework, which a submission (or an officer) may have set meanwhile.
DRAFT_FIELDS = ("case_type", "measure", "description", "building_area_m2", "height_m",
                "floors", "contact_name", "contact_email", "contact_phone")
SAVED_FIELDS = (*DRAFT_FIELDS, "location", "parcel", "property_designation",
                "parcel_objektidentitet", "site_is_whole_parcel", "site")


def _lock_draft(application: Application) -> None:
    """Take the application for this transaction and check that it is still a draft.

    Call inside ``transaction.atomic()``. On PostgreSQL the row is locked; on SpatiaLite
    the transaction began IMMEDIATE and so already holds the database's write lock. Either
    way a save, an upload and a submit of one draft wait for each other, and the status
    is read after the wait: a save never writes over a submission that came first.
    """
    application.status = Application.objects.select_for_update().values_list(
        "status", flat=True).get(pk=application.pk)
    _editable(application)


def application_save(application: Application, actor: AbstractBaseUser,
                     data: DraftInput) -> Application:
    """Save a draft: the answers, the location, the site and the drawings.

    Everything valid is kept even when something else is wrong, so that nothing the
    applicant typed is lost; the first problem is then raised as a FieldError. Raises
    NotEditable if the application has been sent (perhaps a moment ago, from another tab).
    """
    _editable(application)
    # In the order of the form: the place, the site, the drawings. The drawings are read
    # before the transaction, so that the lock is held for the writes only.
    problems: dict[str, FieldError] = {}
    drawn: list[DrawnFeature] | None = None
    if data.drawn is not None:
        try:
            drawn = _drawn_features(application, data.drawn)
        except FieldError as exc:
            problems["drawn"] = exc
    with transaction.atomic():
        _lock_draft(application)
        for name in DRAFT_FIELDS:
            setattr(application, name, getattr(data, name))
        for step, apply in (("place", _place), ("site", _site)):
            try:
                apply(application, data)
            except FieldError as exc:
                problems[step] = exc
        application.save(update_fields=SAVED_FIELDS)
        if drawn is not None:
            application.drawn.all().delete()
            DrawnFeature.objects.bulk_create(drawn)
        _event(application, actor, "saved")
    first = next((problems[step] for step in ("place", "site", "drawn") if step in problems),
                 None)
    if first is not None:
        raise first
    return application


def _place(application: Application, data: DraftInput) -> None:
    """Set the location and parcel from a chosen property or a pin on the map."""
    if data.parcel_objektidentitet:
        parcel = Parcel.objects.filter(
            objektidentitet=_uuid(data.parcel_objektidentitet, "designation")).order_by(
            "omradesnummer").first()
        if parcel is None:
            raise FieldError("designation", _("The property could not be found."))
        _set_parcel(application, parcel, parcel.geom.point_on_surface)
    elif data.lon is not None and data.lat is not None:
        try:
            x, y = point_to_srid(data.lon, data.lat, WEB_SRID, STORAGE_SRID)
            parcel = parcel_at(data.lon, data.lat, WEB_SRID)
        except CRSMismatch as exc:
            raise FieldError("map", _("The pinned location is not in Sweden.")) from exc
        _set_parcel(application, parcel, Point(x, y, srid=STORAGE_SRID))


def _uuid(text: str, field_name: str) -> uuid.UUID:
    """Return an objektidentitet given as text; one that is not a UUID is never found."""
    try:
        return uuid.UUID(str(text))
    except ValueError as exc:
        raise FieldError(field_name, _("The property could not be found.")) from exc


def _set_parcel(application: Application, parcel: Parcel | None, location: Point) -> None:
    application.location = location
    application.parcel = parcel
    application.property_designation = parcel.beteckning if parcel else ""
    application.parcel_objektidentitet = parcel.objektidentitet if parcel else None


def _site(application: Application, data: DraftInput) -> None:
    """Set the site: the whole property, or a polygon typed as corner coordinates."""
    application.site_is_whole_parcel = data.whole_parcel
    if data.whole_parcel:
        if application.parcel is None:
            raise FieldError("whole_parcel", _("Choose the property first."))
        shapes = [shapely.from_wkb(bytes(p.geom.wkb))
                  for p in property_parcels(application.parcel)]
        union = shapely.union_all(shapes)
        application.site = _multipolygon(union)
    elif data.corners.strip():
        application.site = _multipolygon(_polygon_from_corners(data.corners))
    else:
        application.site = None


def _multipolygon(shape: shapely.Geometry) -> MultiPolygon:
    if shape.geom_type == "Polygon":
        shape = shapely.geometry.MultiPolygon([shape])
    geom = GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)
    assert isinstance(geom, MultiPolygon)
    return geom


def _polygon_from_corners(text: str) -> shapely.Geometry:
    """Read corners "E N" (SWEREF 99 TM), one a line, into a valid polygon."""
    points = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        parts = line.replace(",", " ").replace(";", " ").split()
        if not parts:
            continue
        try:
            easting, northing = (float(v) for v in parts[:2])
        except ValueError:
            easting = northing = math.nan
        if not (math.isfinite(easting) and math.isfinite(northing)):
            raise FieldError("corners", _("Line %(n)d is not two numbers (easting northing).")
                             % {"n": number})
        points.append([easting, northing])
    if len(points) < 3:
        raise FieldError("corners", _("Give at least three corners, one a line."))
    ring = points if points[0] == points[-1] else [*points, points[0]]
    not_an_area = _("The corners do not make an area: check their order.")
    # The same checks and limits as every geometry from outside (geodata.geojson_input).
    try:
        polygon = geometry_from_geojson({"type": "Polygon", "coordinates": [ring]},
                                        srid=STORAGE_SRID)
    except CRSMismatch as exc:
        raise FieldError("corners", _(
            "The corners are not in Sweden in SWEREF 99 TM. Give the easting first (about "
            "600000), then the northing (about 6900000).")) from exc
    except LimitExceeded as exc:
        raise FieldError("corners", str(exc)) from exc
    except InvalidInput as exc:
        raise FieldError("corners", not_an_area) from exc
    if polygon.area < 1:
        raise FieldError("corners", not_an_area)
    return polygon


def _drawn_features(application: Application,
                    collection: dict[str, Any]) -> list[DrawnFeature]:
    """Return the drawn features of a GeoJSON FeatureCollection (lon/lat), unsaved."""
    kinds = set(DrawnFeature.Kind.values)
    try:
        features = features_from_geojson(collection, srid=WEB_SRID)
    except CRSMismatch as exc:
        raise FieldError("map", _("A drawing is not a valid shape in Sweden.")) from exc
    except InvalidInput as exc:
        raise FieldError("map", _("A drawing could not be used: %(reason)s")
                         % {"reason": exc}) from exc
    new = []
    for shape, properties in features:
        kind = str(properties.get("kind") or "byggnad")
        new.append(DrawnFeature(application=application,
                                kind=kind if kind in kinds else DrawnFeature.Kind.OTHER,
                                geom=GEOSGeometry(memoryview(shapely.to_wkb(shape)),
                                                  srid=STORAGE_SRID)))
    return new


def attachment_add(application: Application, actor: AbstractBaseUser, kind: str,
                   upload: UploadedFile) -> Attachment:
    """Attach a PDF (checked by content and limits) to a draft."""
    _editable(application)
    if kind not in AttachmentKind.values:
        raise FieldError("attachment_kind", _("Choose what kind of document it is."))
    # Read and checked before the transaction: the lock is held for the writes only.
    checked = check_pdf(upload, application.attachments.count())
    attachment = Attachment(application=application, kind=kind,
                            original_name=(upload.name or "dokument.pdf")[:255],
                            size=checked.size, sha256=checked.sha256, pages=checked.pages)
    with transaction.atomic():
        _lock_draft(application)
        attachment.file.save(f"{application.pk}-{checked.sha256[:16]}.pdf", upload,
                             save=False)
        attachment.save()
        _event(application, actor, "attachment", f"{attachment.get_kind_display()}: "
                                                 f"{attachment.original_name}")
    return attachment


def attachment_remove(application: Application, actor: AbstractBaseUser,
                      attachment_id: int) -> None:
    """Remove an attachment from a draft."""
    _editable(application)
    with transaction.atomic():
        _lock_draft(application)
        attachment = application.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            return
        attachment.delete()
        _event(application, actor, "attachment-removed", attachment.original_name)
    # The file goes once its row is gone for good.
    attachment.file.delete(save=False)


def case_number_next(municipality: Municipality, year: int) -> str:
    """Take the next case number of a municipality and year, e.g. ``BYGG 2026-000123``
    (the committee's prefix; ``BYGG 2281 2026-000123`` for a committee without one).

    Must run inside a transaction: the counter row is updated in place, so concurrent
    submissions never get the same number.
    """
    counter, _created = CaseCounter.objects.get_or_create(municipality=municipality, year=year)
    CaseCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db(fields=["last"])
    prefix = Committee.objects.filter(municipality=municipality).values_list(
        "case_prefix", flat=True).first() or f"{CASE_PREFIX} {municipality.kommunkod}"
    return f"{prefix} {year}-{counter.last:06d}"


def _municipality_for(kommunkod: str | None) -> Municipality:
    code = kommunkod or settings.LOVKARTA_DEFAULT_KOMMUNKOD
    municipality = Municipality.objects.filter(kommunkod=code).first()
    if municipality is None:
        raise InvalidApplication(
            _("Municipality %(code)s does not take applications in this service.")
            % {"code": code})
    return municipality


def _complete(application: Application) -> None:
    """Raise FieldError for the first thing an application cannot be sent without."""
    if application.location is None:
        raise FieldError("map", _("Show where: pin the place on the map or search for the "
                                  "property."))
    if not application.description.strip():
        raise FieldError("description", _("Describe what you want to do."))
    if not application.contact_email:
        raise FieldError("contact_email", _("Give an e-mail address for the confirmation."))
    have = set(application.attachments.values_list("kind", flat=True))
    labels = dict(AttachmentKind.choices)
    for kind in REQUIRED_TO_SUBMIT.get(application.case_type, ()):
        if kind not in have:
            raise FieldError("attachment_file", _("Attach a %(document)s (PDF).")
                             % {"document": labels[kind]})


def application_submit(application: Application, actor: AbstractBaseUser) -> Application:
    """Send a complete draft: give it a case number, record it and confirm by e-mail.

    Idempotent: a double click or a replayed request finds the application already sent
    and returns it. The draft is taken first (``_lock_draft``): racing submits and saves
    of one draft wait for each other, so there is one case number, the application is
    checked as it was last saved, and no save lands after it was sent. The parcel comes
    from the cache, so an applicant can submit even when Lantmäteriet is down.
    """
    if application.status != Status.DRAFT:
        return application
    with transaction.atomic():
        try:
            _lock_draft(application)
        except NotEditable:
            application.refresh_from_db()
            return application
        application.refresh_from_db()
        _complete(application)
        municipality = _municipality_for(application.parcel.kommunkod if application.parcel
                                         else None)
        now = service_clock.now()
        received = timezone.localdate(now)
        # The fee table in force on the day of receipt is the case's for good (PBL taxa).
        table = fee_table_in_force(municipality, received)
        deadline = case_clock(application.case_type, received).deadline
        # Conditional as well: a second guard should the lock ever be left out.
        moved = Application.objects.filter(pk=application.pk, status=Status.DRAFT).update(
            status=Status.SUBMITTED, submitted_at=now, municipality=municipality,
            received_on=received, deadline=deadline, fee_table=table,
            fee_sek=fee_estimate(table, application.case_type,
                                 application.building_area_m2, received.year))
        if not moved:
            application.refresh_from_db()
            return application
        number = case_number_next(municipality, received.year)
        Application.objects.filter(pk=application.pk).update(case_number=number)
        application.refresh_from_db()
        _event(application, actor, "submitted", number)
    _confirm(application)
    checks_on_receipt(application)
    return application


def _confirm(application: Application) -> None:
    subject = _("Your application %(number)s has been received") % {
        "number": application.case_number}
    body = _("We have received your application %(number)s about %(property)s.\n"
             "You can follow it under My applications.") % {
        "number": application.case_number,
        "property": application.property_designation or "-"}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [application.contact_email])
    except OSError as exc:  # the application is stored; the e-mail can be resent
        log.error("confirmation e-mail for %s failed: %s", application.case_number, exc)


def feedback_give(application: Application, actor: AbstractBaseUser, rating: int,
                  comment: str) -> Feedback:
    """Record the applicant's rating (1-5) of the e-service; once per application."""
    if application.status == Status.DRAFT:
        raise InvalidApplication(_("Feedback is given after sending the application."))
    if not 1 <= rating <= 5:
        raise FieldError("rating", _("Choose a rating from 1 to 5."))
    feedback, _created = Feedback.objects.update_or_create(
        application=application, defaults={"rating": rating, "comment": comment[:2000]})
    return feedback
