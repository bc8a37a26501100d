"""The cases API (``/api/v1/cases``) for case systems and scripts.

Authenticated by the session (with its CSRF token for writes) or by a bearer token
(``Authorization: Bearer lk_…``, made with ``manage.py lovkarta_token``), scoped like the
officer's pages: a case of a municipality where the caller holds no role is a 404, and a
caller who holds no role at all (an applicant) gets 403. Every read of a case is audited.
Errors are ``{"code", "description"}`` with the HTTP status the error carries. The
OpenAPI document is derived from this module by django-ninja (``/api/v1/cases/openapi.json``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import AfterValidator

from permits.checks.api import router as checks_router
from permits.exceptions import NotAllowed, PermitsError
from permits.history import label, staff_history
from permits.models import Application, CaseType
from permits.selectors.casework import QueueFilter, case_queue, cases_for_staff, is_staff_member
from permits.services import clock as service_clock
from permits.services.casework import (
    Move,
    case_assign,
    case_clock_of,
    case_read,
    case_transition,
    transitions_for,
)
from permits.services.tokens import token_user
from permits.workflow import TRANSITIONS, Outcome, Status

MAX_LIMIT = 200


class BearerToken(HttpBearer):
    """A token made with ``lovkarta_token``, presented as ``Authorization: Bearer``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


class Session(SessionAuth):
    """The browser's session (django-ninja checks the CSRF token on writes)."""


api = NinjaAPI(
    title="Lovkarta cases API", version="1",
    description=__doc__ or "", urls_namespace="cases-api",
    openapi_url="/cases/openapi.json", docs_url="/cases/docs",
    auth=[BearerToken(), Session()],
)
api.add_router("/", checks_router)  # POST /checks, open: it reads only public plan data


def _without_nul(value: str) -> str:
    # PostgreSQL's text cannot hold NUL: refused here, as bad input (400), before a query
    # or a row could fail on it (500).
    if "\x00" in value:
        raise ValueError(_("must not contain the NUL character (\\u0000)"))
    return value


Text = Annotated[str, AfterValidator(_without_nul)]


class ErrorOut(Schema):
    code: str
    description: str


class CaseOut(Schema):
    """A case as the list shows it; dates are ISO ``YYYY-MM-DD``, null until known."""

    case_number: str | None
    municipality: str = Field(description="kommunkod")
    case_type: str
    status: str
    received: date | None
    complete: date | None
    deadline: date | None
    extended_weeks: int
    decided: date | None
    fee_sek: int | None
    fee_reduction_fifths: int | None = Field(
        description="fifths of the fee that fall away (PBL 12:8 a), set by the decision")


class CaseList(Schema):
    cases: list[CaseOut]
    next: str | None = Field(description="the next page, or null on the last")


class EventOut(Schema):
    at: datetime
    kind: str
    label: str
    user: str | None
    text: str
    data: dict[str, Any]


class CaseDetail(CaseOut):
    """A case with its clock, fee, assignment, moves open to the caller, and events."""

    id: int
    url: str
    property_designation: str
    measure: str
    description: str
    assigned_to: str | None
    days_left: int | None
    overdue: bool
    time_limit_weeks: int | None
    extension_reason: str
    outcome: str | None
    notified: date | None
    fee_table_in_force_from: date | None = Field(
        description="the fee table (taxa) version the case keeps: the one in force when received")
    fee_after_reduction_sek: int | None
    transitions: list[str]
    events: list[EventOut]


class TransitionIn(Schema):
    """A move of the workflow; ``reason`` is what the audit trail records as why."""

    action: Literal[tuple(TRANSITIONS)]  # type: ignore[valid-type]
    reason: Text = Field("", max_length=4000)
    on: date | None = Field(None, description="e.g. the day the application was complete")
    reply_by: date | None = None
    items: list[tuple[Text, Text]] = Field(default_factory=list, max_length=50,
                                         description="(attachment kind, what is missing)")
    outcome: Literal[tuple(Outcome.values)] | None = None  # type: ignore[valid-type]
    conditions: Text = Field("", max_length=10000)
    delegation_point: Text = Field("", max_length=200)


class AssignIn(Schema):
    officer: Text | None = Field(description="username; null leaves the case unassigned")


class CaseQuery(Schema):
    queue: Literal["mine", "unassigned", "overdue", "all"] = "all"
    status: Literal[tuple(Status.values)] | None = None  # type: ignore[valid-type]
    case_type: Literal[tuple(CaseType.values)] | None = None  # type: ignore[valid-type]
    municipality: str | None = Field(None, pattern=r"^\d{4}$", description="kommunkod")
    deadline_before: date | None = None
    property: Text = Field("", max_length=100)
    applicant: Text = Field("", max_length=100)
    after: int = Field(0, ge=0, description="return cases after this id (from `next`)")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


def _error(request: HttpRequest, status: int, code: str, description: str) -> HttpResponse:
    return api.create_response(request, {"code": code, "description": description},
                               status=status)


@api.exception_handler(PermitsError)
def _permits_error(request: HttpRequest, exc: PermitsError) -> HttpResponse:
    return _error(request, exc.http_status, exc.code, str(exc))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', '')}"
        for e in exc.errors)
    return _error(request, 400, "invalid_input", _("Invalid request: %(problems)s") % {
        "problems": problems})


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "not_authenticated", _(
        "Log in, or send a token as “Authorization: Bearer …”."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("There is no such case."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


def _staff(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not is_staff_member(user):
        raise NotAllowed(_("The cases API is for the staff of a municipality."))
    return user


def _case(user: Any, ref: str) -> Application:
    if "\x00" in ref:  # no case number holds one (and PostgreSQL's text cannot)
        raise Http404
    cases = cases_for_staff(user)
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int().
    found = (cases.filter(pk=int(ref)) if ref.isascii() and ref.isdigit() and len(ref) < 12
             else cases.filter(case_number=ref)).first()
    if found is None:
        raise Http404
    return found


def _case_out(application: Application) -> dict[str, Any]:
    return {
        "case_number": application.case_number,
        "municipality": application.municipality.kommunkod if application.municipality
        else "",
        "case_type": application.case_type, "status": application.status,
        "received": application.received_on, "complete": application.complete_on,
        "deadline": application.deadline, "extended_weeks": application.extended_weeks,
        "decided": application.decided_on, "fee_sek": application.fee_sek,
        "fee_reduction_fifths": application.fee_reduction_fifths,
    }


def _detail(request: HttpRequest, user: Any, application: Application) -> dict[str, Any]:
    today = service_clock.today()
    state = case_clock_of(application)
    days_left = state.days_left(today) if state else None
    fee, fifths = application.fee_sek, application.fee_reduction_fifths
    return {
        **_case_out(application),
        "id": application.pk,
        "url": request.build_absolute_uri(reverse("cases-api:case_get",
                                                  args=[application.pk])),
        "property_designation": application.property_designation,
        "measure": application.measure, "description": application.description,
        "assigned_to": application.assigned_to.get_username() if application.assigned_to
        else None,
        "days_left": days_left,
        "overdue": bool(days_left is not None and days_left < 0
                        and application.decided_on is None
                        and application.status not in (Status.WITHDRAWN,)),
        "time_limit_weeks": state.weeks if state else None,
        "extension_reason": application.extension_reason,
        "outcome": application.outcome or None,
        "notified": application.notified_on,
        "fee_table_in_force_from": application.fee_table.valid_from if application.fee_table
        else None,
        "fee_after_reduction_sek": None if fee is None else fee - fee * (fifths or 0) // 5,
        "transitions": [t.action for t in transitions_for(user, application)],
        "events": [{"at": e.at, "kind": e.kind, "label": label(e.kind),
                    "user": e.actor.get_username() if e.actor else None, "text": e.text,
                    "data": e.data or {}} for e in staff_history(application)],
    }


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@api.get("/cases", response={200: CaseList, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
         url_name="case_list", tags=["cases"])
def case_list(request: HttpRequest, filters: Query[CaseQuery]) -> dict[str, Any]:
    """List the cases of the caller's municipalities, oldest first, a page at a time."""
    user = _staff(request)
    cases = case_queue(user=user, today=service_clock.today(), filters=QueueFilter(
        queue=filters.queue, status=filters.status or "", case_type=filters.case_type or "",
        deadline_before=filters.deadline_before, property=filters.property,
        applicant=filters.applicant, municipality=filters.municipality or ""))
    page = list(cases.filter(pk__gt=filters.after).order_by("pk")[:filters.limit + 1])
    more = len(page) > filters.limit
    page = page[:filters.limit]
    following = None
    if more:
        query = request.GET.copy()
        query["after"] = str(page[-1].pk)
        following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {"cases": [_case_out(a) for a in page], "next": following}


@api.get("/cases/{ref}", response={200: CaseDetail, 401: ErrorOut, 403: ErrorOut,
                                   404: ErrorOut}, url_name="case_get", tags=["cases"])
def case_get(request: HttpRequest, ref: str) -> dict[str, Any]:
    """Read one case (by id or case number) with its deadline, fee and events."""
    user = _staff(request)
    application = _case(user, ref)
    case_read(actor=user, application=application, what=_("case (API)"), ip=_ip(request))
    return _detail(request, user, application)


@api.post("/cases/{ref}/transitions",
          response={200: CaseDetail, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
                    404: ErrorOut, 409: ErrorOut}, url_name="case_transition",
          tags=["cases"])
def case_move(request: HttpRequest, ref: str, body: TransitionIn) -> dict[str, Any]:
    """Make a transition of a case's workflow; 409 if it does not start from its state."""
    user = _staff(request)
    application = _case(user, ref)
    case_transition(actor=user, application=application, action=body.action, ip=_ip(request),
                    move=Move(reason=body.reason, on=body.on, reply_by=body.reply_by,
                              items=list(body.items), outcome=body.outcome or "",
                              conditions=body.conditions,
                              delegation_point=body.delegation_point))
    return _detail(request, user, _case(user, str(application.pk)))


@api.post("/cases/{ref}/assignment",
          response={200: CaseDetail, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
                    404: ErrorOut}, url_name="case_assign", tags=["cases"])
def case_assignment(request: HttpRequest, ref: str, body: AssignIn) -> dict[str, Any]:
    """Assign a case to an officer of its municipality (or to no one)."""
    user = _staff(request)
    application = _case(user, ref)
    officer = None
    if body.officer:
        officer = User.objects.filter(username=body.officer).first()
        if officer is None:
            raise PermitsError(_("There is no user %(name)s.") % {"name": body.officer})
    case_assign(actor=user, application=application, officer=officer, ip=_ip(request))
    return _detail(request, user, _case(user, str(application.pk)))
