"""The API definition (OpenAPI 3.0), derived from the registry of collections."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from geodata.publish.documents import GEOJSON, HTML, JSON, OPENAPI, SCHEMA, field_schema
from geodata.publish.params import CRS84_URI, DEFAULT_LIMIT, MAX_LIMIT, crs_list
from geodata.publish.registry import Collection, all_collections

_ERROR = {"description": "Bad request (400), not found (404) or server error: "
                         "{code, description}",
          "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}}


def _param(name: str, description: str, schema: dict[str, Any], style: str = "form",
           explode: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": style, "explode": explode}


PARAMETERS: dict[str, Any] = {
    "f": _param("f", "Output format (or use the Accept header).",
                {"type": "string", "enum": ["json", "html"]}),
    "bbox": _param("bbox", "Lower and upper corner in bbox-crs, in its axis order.",
                   {"type": "array", "minItems": 4, "maxItems": 6,
                    "items": {"type": "number"}}),
    "bbox-crs": _param("bbox-crs", "CRS of bbox (default CRS84).",
                       {"type": "string", "format": "uri", "enum": crs_list(),
                        "default": CRS84_URI}),
    "crs": _param("crs", "CRS of the answer's coordinates, in its axis order.",
                  {"type": "string", "format": "uri", "enum": crs_list(),
                   "default": CRS84_URI}),
    "limit": _param("limit", f"Features a page (at most {MAX_LIMIT}).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                     "default": DEFAULT_LIMIT}),
    "offset": _param("offset", "Features to skip (follow the next link).",
                     {"type": "integer", "minimum": 0, "default": 0}),
    "datetime": _param("datetime", "A date or an interval (a/b, ../b, a/..) of the "
                       "collection's date, if it has one.", {"type": "string"}),
    "filter": _param("filter", "CQL2-text filter over the queryables.", {"type": "string"}),
    "filter-lang": _param("filter-lang", "Filter language.",
                          {"type": "string", "enum": ["cql2-text"],
                           "default": "cql2-text"}),
    "filter-crs": _param("filter-crs", "CRS of the filter's geometries (default CRS84).",
                         {"type": "string", "format": "uri", "enum": crs_list(),
                          "default": CRS84_URI}),
}
ITEMS = ["f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "filter",
         "filter-lang", "filter-crs"]


def _ref(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _ok(description: str, *types: str, schema: dict[str, Any] | None = None
        ) -> dict[str, Any]:
    return {"200": {"description": description,
                    "content": {t: {"schema": schema or {"type": "object"}} for t in types}},
            "400": _ERROR, "404": _ERROR}


def _collection_paths(c: Collection) -> dict[str, Any]:
    base = f"/collections/{c.id}"
    title = str(c.title)
    features = {"$ref": f"#/components/schemas/{c.id}-features"}
    return {
        base: {"get": {"summary": title, "operationId": f"describe-{c.id}",
                       "tags": [c.id], "parameters": _ref("f"),
                       "responses": _ok("The collection", JSON, HTML)}},
        f"{base}/queryables": {"get": {
            "summary": f"{title}: queryables", "operationId": f"queryables-{c.id}",
            "tags": [c.id], "parameters": _ref("f"),
            "responses": _ok("JSON Schema of the queryables", SCHEMA, HTML)}},
        f"{base}/items": {"get": {
            "summary": f"{title}: features", "operationId": f"items-{c.id}", "tags": [c.id],
            "parameters": _ref(*ITEMS),
            "responses": _ok("A page of features", GEOJSON, HTML, schema=features)}},
        f"{base}/items/{{featureId}}": {"get": {
            "summary": f"{title}: one feature", "operationId": f"item-{c.id}",
            "tags": [c.id],
            "parameters": [{"name": "featureId", "in": "path", "required": True,
                            "schema": {"type": "string"}}, *_ref("f", "crs")],
            "responses": _ok("A feature", GEOJSON, HTML)}},
    }


def _features_schema(c: Collection) -> dict[str, Any]:
    props = {f.name: field_schema(f) for f in c.fields}
    return {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "numberMatched": {"type": "integer"}, "numberReturned": {"type": "integer"},
        "timeStamp": {"type": "string", "format": "date-time"},
        "links": {"type": "array", "items": {"type": "object"}},
        "features": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "description": c.geometry_type},
            "properties": {"type": "object", "properties": props}}}}}}


def document(request: HttpRequest) -> dict[str, Any]:
    """Return the OpenAPI 3.0 document of the API as it is registered now."""
    registered = all_collections()
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "landing",
                      "parameters": _ref("f"), "responses": _ok("Landing page", JSON, HTML)}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "conformance",
                                 "parameters": _ref("f"),
                                 "responses": _ok("Conformance", JSON, HTML)}},
        "/api": {"get": {"summary": "This document", "operationId": "api",
                         "parameters": _ref("f"), "responses": _ok("OpenAPI 3.0", OPENAPI, HTML)}},
        "/collections": {"get": {"summary": "Collections", "operationId": "collections",
                                 "parameters": _ref("f"),
                                 "responses": _ok("Collections", JSON, HTML)}},
    }
    for c in registered:
        paths.update(_collection_paths(c))
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lovkarta OGC API - Features", "version": "1.0.0",
                 "description": "Open geodata and decided permit cases of Lovkarta."},
        "servers": [{"url": request.build_absolute_uri(reverse("ogc:landing")).rstrip("/")}],
        "tags": [{"name": c.id, "description": str(c.title)} for c in registered],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "schemas": {
                "exception": {"type": "object", "required": ["code"], "properties": {
                    "code": {"type": "string"}, "description": {"type": "string"}}},
                **{f"{c.id}-features": _features_schema(c) for c in registered},
            },
        },
    }
