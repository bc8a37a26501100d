"""The OGC API - Features views: parse the request, ask the registry and query, answer.

JSON (GeoJSON for features) or HTML, by ``f=`` or the Accept header. Every error answers
``{"code", "description"}`` with its HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from geodata.errors import GeodataError
from geodata.publish import documents, openapi, params, query
from geodata.publish.documents import GEOJSON, JSON, OPENAPI, SCHEMA, link, url
from geodata.publish.errors import InvalidParameter
from geodata.publish.registry import Collection, get

View = Callable[..., HttpResponse]
LANDING_PARAMS = frozenset({"f"})
ITEM_PARAMS = frozenset({"f", "crs"})


def ogc_view(view: View) -> View:
    """Answer GET and HEAD; turn geodata errors into ``{"code", "description"}``."""

    @require_http_methods(["GET", "HEAD"])
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except GeodataError as exc:
            response = JsonResponse({"code": exc.code, "description": str(exc)},
                                    status=exc.http_status)
        # Open data: any web page may read it.
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapper


def _json(doc: dict[str, Any], content_type: str = JSON) -> HttpResponse:
    return HttpResponse(json.dumps(doc, ensure_ascii=False), content_type=content_type)


def _format(request: HttpRequest, allowed: frozenset[str] = LANDING_PARAMS) -> str:
    params.check_known(request, allowed)
    return params.output_format(request)


@ogc_view
def landing(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    doc = documents.landing(request, fmt, _("Lovkarta open geodata"), _(
        "Property parcels, addresses, buildings, detailed plans, plan regulations and "
        "decided permit cases as OGC API - Features."))
    if fmt == "html":
        return render(request, "geodata/ogc/landing.html", {"doc": doc,
                      "collections": documents.collections_doc(request, fmt)["collections"]})
    return _json(doc)


@ogc_view
def conformance(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    doc = documents.conformance()
    if fmt == "html":
        return render(request, "geodata/ogc/conformance.html", {"doc": doc})
    return _json(doc)


@ogc_view
def api(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    doc = openapi.document(request)
    if fmt == "html":
        return render(request, "geodata/ogc/api.html", {"doc": doc})
    return _json(doc, OPENAPI)


@ogc_view
def collections(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    doc = documents.collections_doc(request, fmt)
    if fmt == "html":
        return render(request, "geodata/ogc/collections.html", {"doc": doc})
    return _json(doc)


@ogc_view
def collection(request: HttpRequest, cid: str) -> HttpResponse:
    found = get(cid)
    fmt = _format(request)
    doc = documents.collection_doc(request, found, fmt)
    if fmt == "html":
        return render(request, "geodata/ogc/collection.html", {"doc": doc})
    return _json(doc)


@ogc_view
def queryables(request: HttpRequest, cid: str) -> HttpResponse:
    found = get(cid)
    fmt = _format(request)
    doc = documents.queryables(request, found)
    if fmt == "html":
        return render(request, "geodata/ogc/queryables.html", {"doc": doc, "collection": found})
    return _json(doc, SCHEMA)


def _filtered(request: HttpRequest, found: Collection) -> Any:
    """Return the collection's queryset with the request's bbox, datetime and filter."""
    queryset = found.queryset()
    get_ = request.GET
    if "bbox" in get_:
        bbox_crs = params.request_crs(get_.get("bbox-crs"), "bbox-crs")
        queryset = queryset.filter(query.intersects(found, params.bbox_geometry(
            get_["bbox"], bbox_crs)))
    elif "bbox-crs" in get_:
        params.request_crs(get_["bbox-crs"], "bbox-crs")  # checked even when unused
    if "datetime" in get_:
        queryset = queryset.filter(query.days(found, *params.datetime_interval(
            get_["datetime"])))
    lang = get_.get("filter-lang", "cql2-text")
    if lang != "cql2-text":
        raise InvalidParameter(f"filter-lang must be cql2-text, not {lang[:40]!r}")
    filter_crs = params.request_crs(get_.get("filter-crs"), "filter-crs")
    if "filter" in get_:
        queryset = queryset.filter(query.filter_q(
            get_["filter"], query.FilterContext(found, filter_crs)))
    return queryset


def _page_links(request: HttpRequest, cid: str, offset: int, limit: int, returned: int,
                matched: int, fmt: str) -> list[dict[str, str]]:
    kept = {k: str(v) for k, v in request.GET.items() if k not in ("f", "offset", "limit")}

    def at(start: int, rel: str, f: str, type_: str) -> dict[str, str]:
        page = {**kept, "limit": str(limit), "f": f}
        if start:
            page["offset"] = str(start)
        return link(url(request, "items", cid, **page), rel, type_)

    links = [at(offset, "self" if fmt == "json" else "alternate", "json", GEOJSON),
             at(offset, "self" if fmt == "html" else "alternate", "html", "text/html")]
    own = ("json", GEOJSON) if fmt == "json" else ("html", "text/html")
    if offset + returned < matched:
        links.append(at(offset + limit, "next", *own))
    if offset > 0:
        links.append(at(max(offset - limit, 0), "prev", *own))
    links.append(link(url(request, "collection", cid), "collection", JSON))
    return links


@ogc_view
def items(request: HttpRequest, cid: str) -> HttpResponse:
    found = get(cid)
    fmt = _format(request, params.ITEMS_PARAMS)
    crs = params.request_crs(request.GET.get("crs"), "crs")
    limit = params.page_limit(request.GET.get("limit"))
    offset = params.whole_number(request.GET.get("offset"), "offset", 0, 0)
    queryset = _filtered(request, found)
    page = query.page(found, queryset, crs, offset, limit, values=fmt == "html")
    matched = page.matched if page.matched is not None else queryset.count()
    returned = len(page.features)
    links = _page_links(request, cid, offset, limit, returned, matched, fmt)
    stamp = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if fmt == "html":
        return render(request, "geodata/ogc/items.html", {
            "collection": found, "fields": [f.name for f in found.fields],
            "rows": list(zip(page.ids, page.properties, strict=True)),
            "matched": matched, "returned": returned, "offset": offset,
            "links": {x["rel"]: x["href"] for x in links}})
    head = {"type": "FeatureCollection", "timeStamp": stamp, "numberMatched": matched,
            "numberReturned": returned, "links": links}
    body = (json.dumps(head, ensure_ascii=False)[:-1] + ',"features":['
            + ",".join(page.features) + "]}")
    response = HttpResponse(body, content_type=GEOJSON)
    response["Content-Crs"] = f"<{crs.uri}>"
    return response


@ogc_view
def item(request: HttpRequest, cid: str, fid: str) -> HttpResponse:
    found = get(cid)
    fmt = _format(request, ITEM_PARAMS)
    crs = params.request_crs(request.GET.get("crs"), "crs")
    page = query.one(found, found.queryset(), fid, crs)
    if fmt == "html":
        return render(request, "geodata/ogc/item.html", {
            "collection": found, "fid": page.ids[0], "properties": page.properties[0],
            "json_url": url(request, "item", cid, fid, f="json")})
    links = [link(url(request, "item", cid, fid, f="json"), "self", GEOJSON),
             link(url(request, "item", cid, fid, f="html"), "alternate", "text/html"),
             link(url(request, "collection", cid), "collection", JSON)]
    body = page.features[0][:-1] + ',"links":' + json.dumps(links) + "}"
    response = HttpResponse(body, content_type=GEOJSON)
    response["Content-Crs"] = f"<{crs.uri}>"
    return response
