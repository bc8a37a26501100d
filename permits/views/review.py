"""The officer's review map: the cases of their municipalities with the queue's filters, and
the cases as vector tiles (the parcels, plans, regulations and buildings come from
geodata's tiles).

A case tile carries no personal data: the case's id, number, status, case type, whether it
is overdue and the days left (and a band the map styles it by). It is scoped like every
casework read: a case of a municipality where the officer holds no role is never in it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from geodata.models import Municipality
from geodata.tiles import Tile, TileLayer, content_etag, tile_mvt, tile_response
from permits import maps
from permits.forms.officer import QueueForm
from permits.models import Application
from permits.selectors.casework import case_queue, is_staff_member, roles_by_municipality
from permits.services import clock as service_clock
from permits.workflow import OPEN

# A tile of cases is the officer's own: the browser may keep it a minute.
CASE_TILE_CACHE_CONTROL = "private, max-age=60"
REPORT_PANEL = "review-report"


class DaysUntil(Func):
    """Whole days from ``today`` to a date (negative once it has passed)."""

    output_field = IntegerField()

    def __init__(self, expression: str, today: date) -> None:
        super().__init__(expression, Value(today, output_field=DateField()))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection,
                           template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s)",
                           arg_joiner=" - ", **extra)


def case_tile_layers(cases: QuerySet[Application], *, today: date, zoom: int
                     ) -> list[TileLayer]:
    """The layers of a case tile: the cases as points, and from a closer zoom their sites."""
    is_open = Q(status__in=OPEN)
    band = Case(When(~is_open, then=Value("closed")),
                When(deadline__lt=today, then=Value("overdue")),
                When(deadline__lte=today + timedelta(days=maps.SOON_DAYS), then=Value("soon")),
                default=Value("open"), output_field=CharField())
    properties = {
        "id": "id", "case_number": "case_number", "status": "status",
        "case_type": "case_type", "band": band,
        "overdue": Case(When(is_open & Q(deadline__lt=today), then=Value(True)),
                        default=Value(False), output_field=BooleanField()),
        "days_left": Case(When(is_open, then=DaysUntil("deadline", today)), default=None,
                          output_field=IntegerField()),
    }
    layers = [TileLayer("cases", cases.filter(location__isnull=False), properties,
                        "location")]
    if zoom >= maps.CASE_SITES_MIN_ZOOM:
        layers.append(TileLayer("case_sites", cases.filter(site__isnull=False),
                                {"id": "id", "case_number": "case_number", "band": band},
                                "site"))
    return layers


def _staff(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise Http404  # no casework here for this user


def _filter_query(form: QueueForm) -> str:
    """The form's valid, non-empty filters as a query string (for the tiles and the list)."""
    query = QueryDict(mutable=True)
    if form.is_bound:
        form.is_valid()
        for name in form.fields:
            if name not in form.errors:
                for value in form.data.getlist(name):
                    if value:
                        query.appendlist(name, value)
    return query.urlencode()


@login_required
def review_map(request: HttpRequest) -> HttpResponse:
    """The cases of the officer's municipalities on a map, filtered as in the queues."""
    _staff(request)
    form = QueueForm(request.GET or None, initial={"queue": "all"})
    filters = form.filters()
    today = service_clock.today()
    query = _filter_query(form)
    cases = case_queue(user=request.user, filters=filters, today=today)
    extent = cases.filter(location__isnull=False).order_by().aggregate(
        extent=Extent("location"))["extent"]
    municipality = Municipality.objects.filter(
        pk__in=list(roles_by_municipality(request.user))).order_by("kommunkod").first()
    tiles = maps.tile_url("permits:officer-review-tiles") + (f"?{query}" if query else "")
    fragment = maps.review_map(cases_url=tiles, extent=extent,
                               kommunkod=municipality.kommunkod if municipality else None,
                               report_panel=REPORT_PANEL)
    return render(request, "permits/officer/review_map.html", {
        "form": form, "filters": filters, "map": fragment, "query": query,
        "report_panel": REPORT_PANEL,
        "list_url": f"{reverse('permits:officer-queue')}?{query}" if query
        else reverse("permits:officer-queue")})


@login_required
@require_GET
def case_tiles(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    """A vector tile of the officer's cases, with the queue's filters (?status=…)."""
    _staff(request)
    try:
        tile = Tile(z, x, y)
    except ValueError:
        raise Http404("no such tile") from None
    data = b""
    if z >= maps.CASES_MIN_ZOOM:
        today = service_clock.today()
        cases = case_queue(user=request.user, filters=QueueForm(request.GET or None).filters(),
                           today=today)
        data = tile_mvt(tile, case_tile_layers(cases, today=today, zoom=z))
    return tile_response(request, data, etag=content_etag(data),
                         cache_control=CASE_TILE_CACHE_CONTROL)
