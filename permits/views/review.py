"""The officer's review map: the cases of their municipalities with the queue's filters, and
the cases as vector tiles (the parcels, plans, regulations and buildings come from
geodata's tiles). What a case tile holds, and who may see it, is
``permits.selectors.review``'s.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from geodata.models import Municipality
from geodata.tiles import Tile, content_etag, tile_response
from permits import maps
from permits.forms.officer import QueueForm
from permits.selectors.casework import case_queue, is_staff_member, roles_by_municipality
from permits.selectors.review import case_extent, case_tile
from permits.services import clock as service_clock

# A tile of cases is the officer's own: the browser may keep it a minute.
CASE_TILE_CACHE_CONTROL = "private, max-age=60"
REPORT_PANEL = "review-report"


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
    extent = case_extent(cases)
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
    """A vector tile of the officer's cases, with the queue's filters (?status=…): the
    cases themselves, or below ``CASES_MIN_ZOOM`` how many there are per grid cell."""
    _staff(request)
    try:
        tile = Tile(z, x, y)
    except ValueError:
        raise Http404("no such tile") from None
    data = case_tile(user=request.user, filters=QueueForm(request.GET or None).filters(),
                     today=service_clock.today(), tile=tile)
    return tile_response(request, data, etag=content_etag(data),
                         cache_control=CASE_TILE_CACHE_CONTROL)
