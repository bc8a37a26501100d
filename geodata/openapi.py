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
       "description": d, "example": e} for n, d, e in (
    ("x", "easting or longitude", 616133.457), ("y", "northing or latitude", 6919896.543))]
SEARCH = [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"},
           "example": "tomming 2:6"},
          {"name": "kommunkod", "in": "query", "schema": {"type": "string"}, "example": "2281"},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10,
                                                      "maximum": 50}}]
# A GeoJSON Polygon in lon/lat (the default srid of a posted geometry): 10 x 10 m in Sundsvall.
FOOTPRINT = {"type": "Polygon", "coordinates": [[
    [17.2464033, 62.392146], [17.2465966, 62.3921429], [17.2466033, 62.3922325],
    [17.24641, 62.3922357], [17.2464033, 62.392146]]]}
ERROR_SCHEMA = {"type": "object", "required": ["code", "description", "error"], "properties": {
    "code": {"type": "string", "description": "stable, e.g. invalid_input, unknown_crs"},
    "description": {"type": "string", "description": "what was wrong, in the caller's language"},
    "error": {"type": "string", "description": "the description again (the first v1 key)"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": ERROR_SCHEMA}}}


ERROR = _error("Bad request")
TOO_LARGE = _error("The body is larger than LOVKARTA_API_MAX_BODY_BYTES")
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
                                                  "404": _error("No parcel there")}}},
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
                         # A posted geometry is in lon/lat unless srid says otherwise.
                         "parameters": [{**CRS_PARAMS[0], "schema": {
                             "type": "string", "default": "4326"}}, CRS_PARAMS[1]],
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": {"type": "object"},
                                                  "example": FOOTPRINT}}},
                         "responses": {**_ok(report, "application/json"),
                                       "413": TOO_LARGE}}},
            "/parcels/{objektidentitet}/neighbours": {"get": {
                "summary": "Neighbours to hear: touching and across a road",
                "parameters": [{"name": "objektidentitet", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}},
                               *CRS_PARAMS[1:]],
                "responses": {**_ok({"type": "object"}, "application/json"),
                              "404": _error("No such parcel")}}},
        },
    }
