"""The officer's workspace: queues, the case page and its moves, the audit trail.

Every page is scoped by the casework selectors: a case of a municipality where the user
holds no role is a 404. Every staff read of a case, attachment or document is audited.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from permits.exceptions import InvalidCasework, NotAllowed, PermitsError
from permits.forms.officer import QUEUE_LABELS, AuditExportForm, ExtendForm, MoveForm, QueueForm
from permits.history import label, staff_history
from permits.maps import case_map_context
from permits.models import Application, ApplicationEvent, CaseCheck, CheckAssessment
from permits.selectors.casework import (
    case_get,
    case_queue,
    is_staff_member,
    queue_counts,
    roles_by_municipality,
)
from permits.selectors.mapcache import background_sources, digest, sync_state
from permits.services import clock as service_clock
from permits.services.casework import (
    case_assign,
    case_clock_of,
    case_extend,
    case_read,
    case_transition,
    event_record,
    transitions_for,
)
from permits.services.checks import case_check_acknowledge, case_check_run, check_assess
from permits.workflow import OPEN, Role, Status

PAGE_SIZE = 50


def client_ip(request: HttpRequest) -> str | None:
    """The address a request came from (the proxy's, as the deployment sets REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") or None


def _staff(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise Http404  # no casework here for this user


def _case(request: HttpRequest, pk: int) -> Application:
    _staff(request)
    try:
        return case_get(user=request.user, pk=pk)
    except Application.DoesNotExist:
        raise Http404 from None


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """A queue of cases: mine, unassigned, overdue or all, filtered and sorted."""
    _staff(request)
    form = QueueForm(request.GET or None)
    filters = form.filters()
    today = service_clock.today()
    cases = case_queue(user=request.user, filters=filters, today=today)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    for application in page:
        application.is_open = application.status in OPEN  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "permits/officer/queue.html", {
        "form": form, "filters": filters, "page": page, "today": today,
        "counts": queue_counts(user=request.user, today=today), "queue_labels": QUEUE_LABELS,
        "query": query.urlencode()})


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A case as its officers see it: facts, clock, fee, documents, moves, audit trail."""
    application = _case(request, pk)
    case_read(actor=request.user, application=application, what=_("case page"),
              ip=client_ip(request))
    return render(request, "permits/officer/case.html", _case_context(request, application))


def _case_context(request: HttpRequest, application: Application,
                  move_form: MoveForm | None = None) -> dict[str, Any]:
    today = service_clock.today()
    state = case_clock_of(application)
    officers = User.objects.filter(staff_roles__municipality_id=application.municipality_id,
                                   staff_roles__role=Role.OFFICER).distinct().order_by(
        "first_name", "username")
    return {
        "application": application, "clock": state, "today": today,
        "days_left": state.days_left(today) if state else None,
        "transitions": transitions_for(request.user, application),
        "move_form": move_form or MoveForm(), "extend_form": ExtendForm(),
        "officers": officers, "events": staff_history(application),
        "completion_requests": application.completion_requests.prefetch_related(
            "items", "attachments"),
        "decisions": application.decisions.select_related("proposed_by", "decided_by"),
        "attachments": application.attachments.select_related("completion"),
        "is_officer": Role.OFFICER in roles_by_municipality(request.user).get(
            application.municipality_id or 0, set()),
        "is_open": application.status in OPEN,
        **_checks_context(application),
        **case_map_cached(application),
        "can_extend": (application.extended_weeks == 0 and state is not None
                       and state.first_deadline is not None
                       and application.status in OPEN - {Status.PROPOSED}
                       and today <= state.first_deadline),
    }


# The case map (its property, plans, regulations and neighbours, drawn and listed) costs
# spatial queries on every render; it is kept, per process, for as long as what it is made
# of is unchanged: the case's own geometry and property, the cache's data (a good sync of
# any source changes it), the background map's sources and the language. Edits made in the
# admin rather than by a sync (a parcel's type) are seen within CASE_MAP_SECONDS.
CASE_MAP_SECONDS = 600


def case_map_key(application: Application) -> str:
    """Return the cache key of a case's map: a digest of everything the map is made of."""
    drawn = [(d.kind, bytes(d.geom.wkb)) for d in application.drawn.all()]
    parts = digest(application.pk, application.municipality_id, application.parcel_id,
                   bytes(application.site.wkb) if application.site else None,
                   bytes(application.location.wkb) if application.location else None,
                   drawn, sync_state(), background_sources(), get_language())
    return f"lovkarta:case-map:{application.pk}:{parts}"


def case_map_cached(application: Application) -> dict[str, Any]:
    """Return the case page's map context, made once for as long as its inputs hold."""
    return cache.get_or_set(case_map_key(application),  # type: ignore[no-any-return]
                            lambda: case_map_context(application), CASE_MAP_SECONDS)


@login_required
@require_POST
def case_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Make one move of a case (a transition, an assignment or an extension)."""
    application = _case(request, pk)
    what = request.POST.get("do", "")
    move_form: MoveForm | None = None
    try:
        if what == "assign":
            officer = _officer_of(application, request.POST.get("officer", ""))
            case_assign(actor=request.user, application=application, officer=officer,
                        ip=client_ip(request))
            messages.success(request, _("The case is assigned."))
        elif what == "extend":
            form = ExtendForm(request.POST)
            if not form.is_valid():
                messages.error(request, " ".join(e for errors in form.errors.values()
                                                 for e in errors))
                return redirect("permits:officer-case", pk=pk)
            case_extend(actor=request.user, application=application,
                        weeks=form.cleaned_data["weeks"], reason=form.cleaned_data["reason"],
                        ip=client_ip(request))
            messages.success(request, _("The time limit is extended."))
        else:
            move_form = MoveForm(request.POST)
            if not move_form.is_valid():
                return render(request, "permits/officer/case.html",
                              _case_context(request, application, move_form), status=400)
            case_transition(actor=request.user, application=application,
                            action=move_form.cleaned_data["action"], move=move_form.move(),
                            ip=client_ip(request))
            messages.success(request, _("Done: %(status)s.") % {
                "status": application.get_status_display()})
    except PermitsError as exc:
        messages.error(request, str(exc))
        # The refused move's form comes back open with what the officer typed in it.
        return render(request, "permits/officer/case.html",
                      _case_context(request, application, move_form), status=exc.http_status)
    return redirect("permits:officer-case", pk=pk)


def _checks_context(application: Application) -> dict[str, Any]:
    """The latest checks of the case, the officer's assessments of them, and the re-check
    still to be acknowledged (if any)."""
    latest = CaseCheck.objects.filter(application=application).order_by(
        "-run_at", "-id").first()
    assessed: dict[str, CheckAssessment] = {}
    for assessment in application.check_assessments.select_related("by"):
        assessed[assessment.code] = assessment  # the last one of each check counts
    checks = [{**check, "assessment": assessed.get(check["code"])}
              for check in (latest.result.get("checks", []) if latest else [])]
    return {"check_run": latest, "checks": checks,
            "regulations": latest.result.get("regulations", []) if latest else [],
            "check_plan": latest.result.get("plan") if latest else None,
            "recheck": CaseCheck.objects.filter(application=application, acknowledged_at=None)
            .exclude(changes=[]).order_by("-run_at", "-id").first(),
            "verdicts": CheckAssessment.Verdict.choices}


@login_required
@require_POST
def case_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the checks again, acknowledge a re-check, or assess one check."""
    application = _case(request, pk)
    what = request.POST.get("do", "")
    try:
        if what == "run":
            if Role.OFFICER not in roles_by_municipality(request.user).get(
                    application.municipality_id or 0, set()):
                raise NotAllowed(_("Only an officer of the municipality runs the checks."))
            if case_check_run(application=application, reason=CaseCheck.Reason.ASKED,
                              actor=request.user) is None:
                raise InvalidCasework(_("Nothing is drawn to check on this case."))
            messages.success(request, _("The checks are run again."))
        elif what == "acknowledge":
            run = CaseCheck.objects.filter(application=application,
                                           pk=_number(request.POST.get("run"))).first()
            if run is None:
                raise Http404
            case_check_acknowledge(actor=request.user, check_run=run, ip=client_ip(request))
            messages.success(request, _("The re-check is acknowledged."))
        elif what == "assess":
            check_assess(actor=request.user, application=application,
                         code=request.POST.get("code", ""),
                         verdict=request.POST.get("verdict", ""),
                         note=request.POST.get("note", ""), ip=client_ip(request))
            messages.success(request, _("The assessment is recorded."))
        else:
            raise InvalidCasework(_("There is no such action."))
    except PermitsError as exc:
        messages.error(request, str(exc))
        return render(request, "permits/officer/case.html",
                      _case_context(request, application), status=exc.http_status)
    return redirect(f"{reverse('permits:officer-case', args=[pk])}#checks-heading")


def _number(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() else 0


def _officer_of(application: Application, value: str) -> Any:
    if value in ("", "none"):
        return None
    if not value.isdigit():
        raise Http404
    return User.objects.filter(pk=int(value)).first()


AUDIT_COLUMNS = ("case_number", "at", "user", "event", "text", "from_address", "details")


def _audit_rows(events: Any) -> Any:
    yield AUDIT_COLUMNS
    for event in events.iterator(chunk_size=2000):
        yield (event.application.case_number or "", event.at.isoformat(),
               event.actor.get_username() if event.actor else "", label(event.kind),
               event.text, event.ip or "", event.data)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Any, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def case_audit_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """A case's audit trail as CSV, for the registrar."""
    application = _case(request, pk)
    event_record(application, request.user, "export", _("audit trail (CSV)"),
                 ip=client_ip(request))
    events = ApplicationEvent.objects.filter(application=application).select_related(
        "actor", "application").order_by("at", "id")
    name = (application.case_number or str(pk)).replace(" ", "-")
    return _csv_response(_audit_rows(events), f"logg-{name}.csv")


@login_required
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The audit trail of the municipalities where the user is an administrator, as CSV
    (?since=&until=, ISO dates)."""
    municipalities = [m for m, roles in roles_by_municipality(request.user).items()
                      if Role.ADMIN in roles]
    if not municipalities:
        raise Http404
    form = AuditExportForm(request.GET)
    if not form.is_valid():
        response = HttpResponse(" ".join(e for errors in form.errors.values() for e in errors),
                                content_type="text/plain; charset=utf-8", status=400)
        return response  # type: ignore[return-value]
    events = ApplicationEvent.objects.filter(
        application__municipality_id__in=municipalities).select_related(
        "actor", "application").order_by("at", "id")
    if form.cleaned_data.get("since"):
        events = events.filter(at__date__gte=form.cleaned_data["since"])
    if form.cleaned_data.get("until"):
        events = events.filter(at__date__lte=form.cleaned_data["until"])
    return _csv_response(_audit_rows(events), "logg.csv")

