"""The JSON documents of the API besides features: landing page, conformance,
collections, a collection's description and its queryables."""

from __future__ import annotations

from typing import Any

import shapely
from django.contrib.gis.db.models import Extent
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from geodata.crs import STORAGE_SRID, WEB_SRID, to_srid
from geodata.publish.params import CRS84_URI, STORAGE_CRS_URI, crs_list
from geodata.publish.query import GEOMETRY
from geodata.publish.registry import DATE, UUID, Collection, Field, all_collections

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
REL_CONFORMANCE = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_DATA = "http://www.opengis.net/def/rel/ogc/1.0/data"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/{}"
# Only what is implemented (and tested): see the README for what is not.
CONFORMANCE = [
    _FEATURES.format(1, "core"), _FEATURES.format(1, "geojson"),
    _FEATURES.format(1, "html"), _FEATURES.format(1, "oas30"),
    _FEATURES.format(2, "crs"),
    _FEATURES.format(3, "queryables"), _FEATURES.format(3, "filter"),
    _FEATURES.format(3, "features-filter"),
    _CQL2.format("cql2-text"), _CQL2.format("basic-cql2"),
    _CQL2.format("advanced-comparison-operators"), _CQL2.format("basic-spatial-functions"),
    _CQL2.format("basic-spatial-functions-plus"),
]
EXTENT_SECONDS = 300


def url(request: HttpRequest, name: str, *args: str, **params: str) -> str:
    """Return the absolute URL of one of the API's views, with query parameters."""
    path = reverse(f"ogc:{name}", args=args)
    query = f"?{urlencode(params)}" if params else ""
    return request.build_absolute_uri(path + query)


def link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def self_links(request: HttpRequest, name: str, *args: str, json_type: str = JSON,
               fmt: str = "json") -> list[dict[str, str]]:
    """Return the self and alternate links of a document written as JSON and HTML."""
    as_json = link(url(request, name, *args, f="json"), "self" if fmt == "json" else
                   "alternate", json_type, "JSON")
    as_html = link(url(request, name, *args, f="html"), "self" if fmt == "html" else
                   "alternate", HTML, "HTML")
    return [as_json, as_html]


def landing(request: HttpRequest, fmt: str, title: str, description: str) -> dict[str, Any]:
    return {
        "title": title, "description": description,
        "links": [
            *self_links(request, "landing", fmt=fmt),
            link(url(request, "api", f="json"), "service-desc", OPENAPI, "OpenAPI 3.0"),
            link(url(request, "api", f="html"), "service-doc", HTML, "OpenAPI 3.0 (HTML)"),
            link(url(request, "conformance"), "conformance", JSON),
            link(url(request, "conformance"), REL_CONFORMANCE, JSON),
            link(url(request, "collections"), "data", JSON),
            link(url(request, "collections"), REL_DATA, JSON),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def extent(collection: Collection) -> list[float] | None:
    """Return the collection's bounding box in CRS84, cached for a few minutes."""
    key = f"lovkarta:ogc:extent:{collection.id}"
    found = cache.get(key)
    if found is None:
        box = collection.queryset().aggregate(box=Extent(collection.geometry))["box"]
        found = []
        if box:
            ring = shapely.segmentize(shapely.box(*box), max(box[2] - box[0], 1.0) / 16)
            lon0, lat0, lon1, lat1 = to_srid(ring, STORAGE_SRID, WEB_SRID).bounds
            found = [round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6)]
        cache.set(key, found, EXTENT_SECONDS)
    return found or None


def collection_doc(request: HttpRequest, collection: Collection, fmt: str = "json",
                   links: bool = True) -> dict[str, Any]:
    cid = collection.id
    doc: dict[str, Any] = {
        "id": cid, "title": str(collection.title), "description": str(collection.description),
        "itemType": "feature",
        "keywords": list(collection.keywords),
        "crs": crs_list(),
        "storageCrs": STORAGE_CRS_URI,
        "links": [
            *(self_links(request, "collection", cid, fmt=fmt) if links else [
                link(url(request, "collection", cid), "collection", JSON, str(collection.title))]),
            link(url(request, "items", cid, f="json"), "items", GEOJSON,
                 "Features as GeoJSON"),
            link(url(request, "items", cid, f="html"), "items", HTML, "Features as HTML"),
            link(url(request, "queryables", cid), REL_QUERYABLES, SCHEMA, "Queryables"),
        ],
    }
    if collection.license:
        doc["links"].append(link(collection.license, "license", HTML))
    box = extent(collection)
    if box:
        doc["extent"] = {"spatial": {"bbox": [box], "crs": CRS84_URI}}
    return doc


def collections_doc(request: HttpRequest, fmt: str) -> dict[str, Any]:
    return {
        "links": self_links(request, "collections", fmt=fmt),
        "crs": crs_list(),
        "collections": [collection_doc(request, c, links=False) for c in all_collections()],
    }


def field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": str(field.title or field.name)}
    if field.type == DATE:
        schema.update(type="string", format="date")
    elif field.type == UUID:
        schema.update(type="string", format="uuid")
    else:
        schema["type"] = field.type
    return schema


def queryables(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    """Return the JSON Schema of what a collection can be filtered by (Part 3)."""
    properties: dict[str, Any] = {}
    for field in (collection.id_field, *collection.fields):
        schema = field_schema(field)
        if field is collection.id_field:
            schema["x-ogc-role"] = "id"
        if collection.datetime_field and field.name == collection.datetime_field.name:
            schema["x-ogc-role"] = "primary-instant"
        properties[field.name] = schema
    properties[GEOMETRY] = {"title": "geometry", "x-ogc-role": "primary-geometry",
                            "format": f"geometry-{collection.geometry_type.lower()}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url(request, "queryables", collection.id),
        "type": "object", "title": str(collection.title),
        "properties": properties, "additionalProperties": False,
    }
