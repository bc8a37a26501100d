"""Views: parse, call a service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from emap.maps import MapFragment
from geodata.crs import STORAGE_SRID, WEB_SRID, point_to_srid
from geodata.models import Municipality
from geodata.selectors import (
    address_parcels,
    addresses_search,
    detail_report,
    parcels_by_designation,
)
from permits import maps
from permits.documents.receipt import receipt_pdf
from permits.exceptions import InvalidApplication, InvalidAttachment, NotEditable, PermitsError
from permits.forms import CompletionForm, DraftForm, FeedbackForm, GuidanceForm
from permits.guidance import BY_KEY, documents_for
from permits.history import applicant_history
from permits.models import Application
from permits.selectors.applications import (
    applications_for_applicant,
    applications_for_officer,
    is_officer,
)
from permits.selectors.casework import case_get
from permits.selectors.mapcache import background_sources, digest, sync_state
from permits.services import clock as service_clock
from permits.services.applications import (
    DraftInput,
    FieldError,
    application_save,
    application_start,
    application_submit,
    attachment_add,
    attachment_remove,
    feedback_give,
)
from permits.services.casework import (
    Move,
    case_read,
    case_transition,
    completion_attach,
)
from permits.services.casework import completion_send as completion_send_service
from permits.services.fees import FeeQuote, fee_quote
from permits.views.officer import client_ip
from permits.workflow import OPEN, Status

T = TypeVar("T")
FORM_FIELDS = ("case_type", "measure", "description", "building_area_m2", "height_m",
               "floors", "contact_name", "contact_email", "contact_phone")


def home(request: HttpRequest) -> HttpResponse:
    """Show what each kind of user can do, and the applicant's own applications."""
    mine = applications_for_applicant(request.user) if request.user.is_authenticated else []
    return render(request, "permits/home.html", {"applications": mine})


def guidance(request: HttpRequest) -> HttpResponse:
    """Ask what the applicant wants to do; show the case type and documents it needs."""
    form = GuidanceForm(request.GET or None)
    answer = BY_KEY[form.cleaned_data["answer"]] if form.is_valid() else None
    return render(request, "permits/guidance.html", {
        "form": form, "answer": answer,
        "documents": documents_for(answer.case_type) if answer else []})


@login_required
@require_POST
def application_new(request: HttpRequest) -> HttpResponse:
    """Start a draft from the guidance's answer."""
    answer = BY_KEY.get(request.POST.get("answer", ""))
    if answer is None:
        return redirect("permits:guidance")
    application = application_start(request.user, answer.case_type, answer.measure)
    return redirect("permits:application-edit", pk=application.pk)


def _own(request: HttpRequest, pk: int) -> Application:
    return get_object_or_404(applications_for_applicant(request.user), pk=pk)


def _draft_input(form: DraftForm) -> DraftInput:
    d = form.cleaned_data
    return DraftInput(**{name: d.get(name) for name in FORM_FIELDS if name in d},
                      lon=d.get("lon"), lat=d.get("lat"),
                      parcel_objektidentitet=d.get("chosen") or "",
                      whole_parcel=bool(d.get("whole_parcel")), corners=d.get("corners") or "",
                      drawn=d.get("drawn"))


@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The application form beside the map; every button saves the draft first."""
    # The parcel comes along (its municipality's fee table), without its geometry.
    application = get_object_or_404(applications_for_applicant(request.user).select_related(
        "parcel").defer("parcel__geom"), pk=pk)
    if application.status != Status.DRAFT:
        return redirect("permits:application", pk=pk)
    results: dict[str, list[object]] = {}
    if request.method == "POST":
        form = DraftForm(request.POST, request.FILES)
        action = request.POST.get("action", "save")
        if form.is_valid():
            try:
                done = _handle(request, application, form, action, results)
            except NotEditable as exc:
                # Sent meanwhile (a second tab, a double click): nothing is left to change.
                messages.info(request, str(exc))
                return redirect("permits:application", pk=pk)
            if done is not None:
                return done
    else:
        form = DraftForm(initial=_initial(application))
    return render(request, "permits/application_form.html", {
        **form_page_context(application), "form": form, "results": results,
        "prechecks_texts": PRECHECK_TEXTS})


# What the pre-checks beside the map say (permits/static/permits/prechecks.js).
PRECHECK_TEXTS = {
    "nothing": _lazy("Nothing drawn to check yet."),
    "fine": _lazy("What you have drawn follows the detailed plan, as far as the map shows."),
    "found": _lazy("Worth knowing before you send (the municipality decides):"),
    "neighbours": _lazy("The neighbours will probably be heard, which takes a few weeks "
                        "more."),
    "unreadable": _lazy("The drawing could not be checked:"),
    "failed": _lazy("The check could not be made just now; you can still send."),
}


# The form page's map and the summary of what lies at the pin cost a dozen milliseconds
# of spatial queries and folium on every render, and are the same for as long as their
# inputs hold: they are kept in the cache (shared by the web workers in production), keyed
# by a digest of everything they are made of. A good sync of any source changes the
# summary's key; the map's names the background map's sources and the language. Every
# new draft shares one map (no pin, nothing drawn). Edits made in the admin rather than
# by a sync are seen within FORM_PAGE_SECONDS.
FORM_PAGE_SECONDS = 600


def _cached(key: str, make: Callable[[], T]) -> T:
    return cache.get_or_set(key, make, FORM_PAGE_SECONDS)  # type: ignore[no-any-return]


def _application_map(application: Application) -> MapFragment:
    """The applicant's map (``maps.application_map``), made once for as long as its inputs
    hold: the pin, the site, the drawings, the background map's sources and the language."""
    municipality = application.municipality
    key = digest(
        bytes(application.location.ewkb) if application.location else None,
        bytes(application.site.ewkb) if application.site else None,
        municipality.kommunkod if municipality else None,
        [(d.kind, bytes(d.geom.ewkb)) for d in application.drawn.all()],
        background_sources(), settings.LOVKARTA_BACKGROUND_WMS,
        settings.LOVKARTA_BACKGROUND_LAYERS, settings.LOVKARTA_DEFAULT_KOMMUNKOD,
        get_language())
    return _cached(f"lovkarta:form-map:{key}", lambda: maps.application_map(application))


@dataclass(frozen=True)
class PlaceSummary:
    """What the form says of the pinned place: the plans and the plan regulations there."""

    plans: list[tuple[str, str]]  # (beteckning, status)
    regulations: list[tuple[str, str, float]]  # (beteckning, formulering, share in %)


def _place_summary(location: Point) -> PlaceSummary:
    """The detail report at the pin, as the form shows it; made once per place for as
    long as the cache's data is unchanged (a good sync of any source changes it)."""
    key = digest(bytes(location.ewkb), sync_state())

    def make() -> PlaceSummary:
        report = detail_report(location)
        return PlaceSummary(
            plans=[(p.beteckning, p.status) for p in report.plans],
            regulations=[(h.regulation.beteckning, h.regulation.bestammelseformulering,
                          h.share_percent) for h in report.regulations])

    return _cached(f"lovkarta:form-place:{key}", make)


def form_page_context(application: Application) -> dict[str, object]:
    """Return what the form page shows of a draft as saved: the map, the summary of the
    place, the documents and the fee (each drawing and attachment read once)."""
    prefetch_related_objects([application], "drawn", "attachments")
    return {
        "application": application, "map": _application_map(application),
        "report": _place_summary(application.location) if application.location else None,
        "documents": documents_for(application.case_type), "fee": _fee_quote(application)}


def _fee_quote(application: Application) -> FeeQuote | None:
    """The fee estimate of the draft as saved: the property's municipality's table."""
    if application.parcel is None:
        return None  # which municipality's table is not known yet
    kommunkod = application.parcel.kommunkod
    municipality = application.municipality
    if municipality is None or municipality.kommunkod != kommunkod:
        municipality = Municipality.objects.filter(kommunkod=kommunkod).first()
    return fee_quote(municipality, application.case_type, application.building_area_m2,
                     service_clock.today())


def _handle(request: HttpRequest, application: Application, form: DraftForm, action: str,
            results: dict[str, list[object]]) -> HttpResponse | None:
    """Save, then do what the button asked; return a redirect when all went well."""
    try:
        application_save(application, request.user, _draft_input(form))
    except FieldError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
    upload = form.cleaned_data.get("attachment_file")
    if upload is not None:
        try:
            attachment_add(application, request.user, form.cleaned_data["attachment_kind"],
                           upload)
        except (InvalidAttachment, FieldError) as exc:
            form.add_error("attachment_file", str(exc))
    if action.startswith("remove-") and action[7:].isdigit():
        attachment_remove(application, request.user, int(action[7:]))
    if action == "search":
        query = form.cleaned_data.get("designation") or ""
        results["choices"] = _search(query)
        if not results["choices"]:
            form.add_error("designation", _("No property or address matches %(q)s.")
                           % {"q": query})
        return None
    if form.errors:
        return None
    if action == "submit":
        try:
            application_submit(application, request.user)
        except FieldError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            return None
        except (InvalidApplication, NotEditable) as exc:
            form.add_error(None, str(exc))
            return None
        return redirect("permits:application", pk=application.pk)
    messages.success(request, _("Your draft has been saved."))
    return redirect("permits:application-edit", pk=application.pk)


def _initial(application: Application) -> dict[str, object]:
    initial: dict[str, object] = {name: getattr(application, name) for name in FORM_FIELDS}
    initial["whole_parcel"] = application.site_is_whole_parcel
    if application.location is not None:
        lon, lat = point_to_srid(application.location.x, application.location.y,
                                 STORAGE_SRID, WEB_SRID)
        initial["lat"], initial["lon"] = round(lat, 8), round(lon, 8)
    if application.parcel_objektidentitet:
        initial["parcel"] = str(application.parcel_objektidentitet)
    return initial


def _readable(request: HttpRequest, pk: int, what: str) -> Application:
    """The applicant's own application, or a case of the staff member's municipalities
    (that read is audited); 404 for anyone else."""
    own = applications_for_applicant(request.user).filter(pk=pk).first()
    if own is not None:
        return own
    try:
        application = case_get(user=request.user, pk=pk)
    except Application.DoesNotExist:
        raise Http404 from None
    case_read(actor=request.user, application=application, what=what, ip=client_ip(request))
    return application


def _detail_context(application: Application, **extra: object) -> dict[str, object]:
    request_open = application.completion_requests.filter(answered_at=None).order_by(
        "-requested_on", "-id").first() if application.status == Status.INCOMPLETE else None
    return {
        "application": application, "events": applicant_history(application),
        "completion": request_open, "completion_form": CompletionForm(),
        "answered": application.completion_requests.exclude(answered_at=None),
        "decisions": application.decisions.filter(state="approved").exclude(document=""),
        "can_withdraw": application.status in OPEN, **extra}


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show an application to its applicant; staff go to the case page (others: 404)."""
    own = applications_for_applicant(request.user).filter(pk=pk).first()
    if own is None:
        try:
            case_get(user=request.user, pk=pk)
        except Application.DoesNotExist:
            raise Http404 from None
        return redirect("permits:officer-case", pk=pk)
    if own.status == Status.DRAFT:
        return redirect("permits:application-edit", pk=pk)
    show_feedback = not hasattr(own, "feedback")
    return render(request, "permits/application_detail.html", _detail_context(
        own, feedback_form=FeedbackForm() if show_feedback else None))


@login_required
def application_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """Download the PDF receipt of a submitted application."""
    application = _readable(request, pk, _("receipt (PDF)"))
    if application.status == Status.DRAFT:
        raise Http404
    response = HttpResponse(receipt_pdf(application), content_type="application/pdf")
    name = (application.case_number or str(pk)).replace(" ", "-")
    response["Content-Disposition"] = f'attachment; filename="kvitto-{name}.pdf"'
    return response


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """Send an attachment to its applicant or to staff of the case's municipality."""
    application = _readable(request, pk, _("attachment %(id)d") % {"id": attachment_id})
    attachment = get_object_or_404(application.attachments, pk=attachment_id)
    return FileResponse(attachment.file.open("rb"), as_attachment=True,
                        filename=attachment.original_name, content_type="application/pdf")


@login_required
def decision_pdf(request: HttpRequest, pk: int, decision_id: int) -> FileResponse:
    """Send the decision document (PDF/A) to the applicant or to staff."""
    application = _readable(request, pk, _("decision %(id)d (PDF)") % {"id": decision_id})
    decision = get_object_or_404(application.decisions.exclude(document=""),
                                 pk=decision_id, state="approved")
    name = (application.case_number or str(pk)).replace(" ", "-")
    return FileResponse(decision.document.open("rb"), as_attachment=True,
                        filename=f"beslut-{name}.pdf", content_type="application/pdf")


@login_required
@require_POST
def completion_send(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant attaches documents to a completion request, then sends it."""
    application = _own(request, pk)
    form = CompletionForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "permits/application_detail.html",
                      _detail_context(application, completion_form=form), status=400)
    try:
        upload = form.cleaned_data.get("file")
        if upload is not None:
            completion_attach(actor=request.user, application=application,
                              kind=form.cleaned_data["kind"], upload=upload)
        if request.POST.get("action") == "send":
            completion_send_service(actor=request.user, application=application,
                                    answer=form.cleaned_data.get("answer") or "",
                                    ip=client_ip(request))
            messages.success(request, _("Your completion has been sent."))
        elif upload is not None:
            messages.success(request, _("The document is attached. Send the completion when "
                                        "everything is there."))
    except (PermitsError, InvalidAttachment) as exc:
        form.add_error("file" if isinstance(exc, InvalidAttachment) else None, str(exc))
        return render(request, "permits/application_detail.html",
                      _detail_context(application, completion_form=form),
                      status=getattr(exc, "http_status", 400))
    return redirect("permits:application", pk=pk)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant withdraws an application that has not been decided."""
    application = _own(request, pk)
    try:
        case_transition(actor=request.user, application=application, action="withdraw",
                        move=Move(reason=request.POST.get("reason", "")[:2000]),
                        ip=client_ip(request))
    except PermitsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your application has been withdrawn."))
    return redirect("permits:application", pk=pk)


@login_required
@require_POST
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the applicant's rating of the e-service."""
    application = _own(request, pk)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            feedback_give(application, request.user, form.cleaned_data["rating"],
                          form.cleaned_data["comment"])
        except InvalidApplication as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Thank you for your feedback!"))
        return redirect("permits:application", pk=pk)
    return render(request, "permits/application_detail.html",
                  _detail_context(application, feedback_form=form))


@login_required
def officer_applications(request: HttpRequest) -> HttpResponse:
    """List the applications on a map and in a table, for planning officers."""
    if not is_officer(request.user):
        raise PermissionDenied
    applications = list(applications_for_officer(request.user)[:500])
    return render(request, "permits/officer_applications.html", {
        "applications": applications, "map": maps.applications_map(applications)})


def _search(query: str) -> list[tuple[str, str]]:
    """Return (parcel objektidentitet, label) for properties and addresses matching."""
    choices = [(str(p.objektidentitet), p.beteckning)
               for p in parcels_by_designation(query, limit=8)]
    addresses = addresses_search(query, limit=8)
    parcels = address_parcels(addresses)
    for address in addresses:
        parcel = parcels.get(address.pk)
        if parcel is not None:
            choices.append((str(parcel.objektidentitet),
                            f"{address.adress}, {address.postort} ({parcel.beteckning})"))
    return choices
