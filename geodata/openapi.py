"""The OpenAPI 3.1 document of the geodata API v1."""

from __future__ import annotations

from typing import Any

CRS_PARAMS: list[dict[str, Any]] = [
    {"name": "srid", "in": "query", "schema": {"type": "string", "default": "3006"},
     "description": "CRS of x/y or of a posted geometry: EPSG code, EPSG:n, URN or URI "
                    "(SWEREF 99 TM 3006, local zones 3007-3018, RT 90 3021, WGS 84 4326)."},
    {"name": "crs", "in": "query", "schema": {"type": "string", "default": "4326"},
     "description": "CRS of the geometries in the answer (default CRS84 lon/lat)."},
]
XY = [{"name": n, "in": "query", "required": True, "schema": {"type": "number"},
       "description": d} for n, d in (("x", "easting or longitude"), ("y", "northing or latitude"))]
SEARCH = [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
          {"name": "kommunkod", "in": "query", "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10,
                                                      "maximum": 50}}]
ERROR = {"description": "Bad request", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"],
           "properties": {"type": {"const": "Feature"}, "geometry": {"type": "object"},
                          "properties": {"type": "object"}, "id": {"type": "string"}}}
COLLECTION = {"type": "object", "required": ["type", "features"],
              "properties": {"type": {"const": "FeatureCollection"},
                             "features": {"type": "array", "items": FEATURE},
                             "data_synced_at": {"type": ["string", "null"]},
                             "data_age_seconds": {"type": ["integer", "null"]}}}


def _ok(schema: dict[str, Any], media: str = "application/geo+json") -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {media: {"schema": schema}}},
            "400": ERROR}


def document(server_url: str) -> dict[str, Any]:
    """Return the OpenAPI document, with ``server_url`` as the server."""
    report = {"type": "object", "required": ["parcels", "plans", "regulations",
                                             "outside_plan"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lovkarta geodata API", "version": "1",
                 "description": "Parcels, addresses, plans and plan regulations from the "
                                "cache of Lantmäteriet's and Boverket's data. Every answer "
                                "says how old its data is."},
        "servers": [{"url": server_url.rstrip("/")}],
        "paths": {
            "/parcels/at": {"get": {"summary": "The parcel at a point",
                                    "parameters": XY + CRS_PARAMS,
                                    "responses": {**_ok(FEATURE),
                                                  "404": {"description": "No parcel there"}}}},
            "/parcels/search": {"get": {"summary": "Properties by designation",
                                        "parameters": SEARCH + CRS_PARAMS[1:],
                                        "responses": _ok(COLLECTION)}},
            "/addresses/search": {"get": {"summary": "Addresses by prefix",
                                          "parameters": SEARCH + CRS_PARAMS[1:],
                                          "responses": _ok(COLLECTION)}},
            "/detail-report": {
                "get": {"summary": "Parcel, plan and regulations at a point",
                        "parameters": XY + CRS_PARAMS,
                        "responses": _ok(report, "application/json")},
                "post": {"summary": "Parcels, plans and regulations under a geometry",
                         "parameters": CRS_PARAMS,
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": {"type": "object"}}}},
                         "responses": _ok(report, "application/json")}},
            "/parcels/{objektidentitet}/neighbours": {"get": {
                "summary": "Neighbours to hear: touching and across a road",
                "parameters": [{"name": "objektidentitet", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}},
                               *CRS_PARAMS[1:]],
                "responses": {**_ok({"type": "object"}, "application/json"),
                              "404": {"description": "No such parcel"}}}},
        },
    }
