"""``POST /api/v1/checks``: the measured checks of a footprint, open to anyone.

It reads only public plan data, so it asks for no login. The body is read by geodata's
GeoJSON input (size, depth, vertex and part limits) before anything else sees it; errors
are ``{"code", "description"}`` with the status the error carries.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from pydantic import ValidationError as PydanticValidationError

from geodata.crs import STORAGE_SRID, WEB_SRID, srid_of
from geodata.errors import GeodataError, InvalidGeometry
from geodata.geojson_input import geometry_from_geojson, request_json
from permits.checks.footprint import footprint_check, report_json

router = Router(tags=["checks"])

FOOTPRINT_TYPES = ("Polygon", "MultiPolygon")


class ChecksIn(BaseModel):
    """A footprint to check: a GeoJSON Polygon or MultiPolygon (or a Feature of one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "geometry": {"type": "Polygon", "coordinates": [[
            [616128.457, 6919884.543], [616138.457, 6919884.543],
            [616138.457, 6919894.543], [616128.457, 6919894.543],
            [616128.457, 6919884.543]]]},
        "srid": 3006, "height_m": 6.5}]})

    geometry: dict[str, Any] = PydanticField(
        description="GeoJSON geometry (Polygon or MultiPolygon) or Feature")
    srid: int = PydanticField(
        WEB_SRID, description="EPSG code of the coordinates (4326 lon/lat by default, "
                              "3006 SWEREF 99 TM easting/northing)")
    height_m: float | None = PydanticField(
        None, gt=0, le=1000, description="height of the building in metres, if known")


class CheckErrorOut(Schema):
    code: str
    description: str


class PlanOut(Schema):
    beteckning: str
    namn: str
    status: str
    typ: str
    laga_kraft: bool
    datum_lagakraft: date | None
    genomforandetid_ar: int | None
    genomforandetid_slutar: date | None
    genomforandetid_utgangen: bool | None = Field(
        description="whether the implementation period has run out (null: the plan has none)")
    overlap_m2: float
    share_percent: float


class CheckOut(Schema):
    code: Literal["plan", "no_building", "coverage", "height", "shoreline", "neighbours"]
    status: Literal["ok", "fail", "review"] = Field(
        description="review: an officer's judgement is needed")
    measured: float | None = Field(description="in `unit` (null: not measured, e.g. no "
                                               "shoreline data for the area)")
    limit: float | None = Field(description="in `unit`")
    unit: Literal["m2", "percent", "m"] | None
    bestammelsekod: str | None
    text: str = Field(description="the regulation's text, or what the check is about")
    message: str = Field(description="what was found, in the user's language")


class RegulationOut(Schema):
    bestammelsekod: str
    beteckning: str
    text: str
    plan: str | None
    overlap_m2: float
    share_percent: float = Field(description="of the footprint")
    sliver: bool = Field(description="below the sliver tolerance: listed, not counted")


class ChecksOut(Schema):
    plan: PlanOut | None
    footprint_m2: float
    checks: list[CheckOut]
    regulations: list[RegulationOut]
    sliver_tolerance: dict[str, float]
    data_versions: dict[str, Any] = Field(
        description="for each source read: its last good sync (id, finished time)")


def _error(exc: GeodataError) -> Status[dict[str, str]]:
    return Status(exc.http_status, {"code": exc.code, "description": str(exc)})


def _read(request: HttpRequest) -> ChecksIn:
    """Return the request body as checked input (limits first, then the fields)."""
    return ChecksIn.model_validate(request_json(request))


def _footprint(body: ChecksIn) -> GEOSGeometry:
    shape = geometry_from_geojson(body.geometry, srid=srid_of(body.srid))
    if shape.geom_type not in FOOTPRINT_TYPES:
        raise InvalidGeometry(_("A footprint must be a Polygon or a MultiPolygon."))
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)


@router.post(
    "/checks", auth=None, response={200: ChecksOut, 400: CheckErrorOut, 413: CheckErrorOut},
    summary="Check a footprint against the detailed plan",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": ChecksIn.model_json_schema()}}}})
def checks(request: HttpRequest) -> Any:
    """Measure a footprint against the detailed plan: plan, no-building land, building area,
    height, the distance to the shoreline (shore protection), and whether the neighbours
    must be heard; each check ``ok``, ``fail`` or ``review`` with its figures.
    """
    try:
        body = _read(request)
        footprint = _footprint(body)
    except GeodataError as exc:
        return _error(exc)
    except PydanticValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        return Status(400, {"code": "invalid_input", "description": _(
            "Invalid request: %(problems)s") % {"problems": problems}})
    return report_json(footprint_check(footprint, height_m=body.height_m))
