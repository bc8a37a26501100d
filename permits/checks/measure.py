"""Measure a footprint against the cache: ask geodata for the figures the rules judge."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry

from geodata.models import Parcel, Source
from geodata.selectors import (
    RegulationHit,
    SourceVersion,
    footprint_report,
    overlap_m2,
    plan_overlaps,
    property_buildings,
    property_parcels,
    shoreline_nearest,
    source_versions,
    union_m2,
)
from permits.checks.formulation import Kind
from permits.checks.rules import Facts, PlanFacts, PropertyFacts, RegulationFacts, Tolerance

# The layers a check reads, as Source.holds.
LAYERS = {"parcels", "buildings", "plans", "regulations", "catalogue", "shoreline"}


def tolerance() -> Tolerance:
    """Return the sliver tolerance of the settings."""
    return Tolerance(m2=float(settings.LOVKARTA_SLIVER_M2),
                     percent=float(settings.LOVKARTA_SLIVER_PERCENT))


def footprint_facts(footprint: GEOSGeometry, *, height_m: float | None = None,
                    sliver: Tolerance | None = None) -> tuple[Facts, dict[str, Any]]:
    """Return the measured facts of a footprint (storage CRS) and the data versions used.

    The set-based path for a set of one (:func:`permits.checks.batch.footprints_facts`):
    the database measures the intersections in a few statements, where
    :func:`footprint_facts_by_shapes` reads the shapes through the ORM and measures them
    with shapely (the same figures; it stays as the reference the tests hold this to).
    The data versions are read once and also tell whether the shoreline is searched.
    """
    from permits.checks.batch import footprints_facts  # batch builds on this module

    sliver = sliver or tolerance()
    read: dict[str | None, list[SourceVersion]] = {}

    def shore_data(kommunkod: str | None) -> bool:
        versions = read[kommunkod] = source_versions(LAYERS, kommunkod)
        return _has_shoreline(versions)

    facts, kommunkod = footprints_facts({0: footprint}, {0: height_m}, sliver=sliver,
                                        shore_data=shore_data)[0]
    versions = read[kommunkod] if kommunkod in read else source_versions(LAYERS, kommunkod)
    return facts, versions_json(versions)


def _has_shoreline(versions: list[SourceVersion]) -> bool:
    # The cache holds shoreline data for the footprint's municipality when one of its
    # shoreline sources has a good sync (as ``nearest_shoreline`` asks, one query fewer).
    return any(v.holds == Source.Holds.SHORELINE and v.sync_run for v in versions)


def footprint_facts_by_shapes(footprint: GEOSGeometry, *, height_m: float | None = None,
                              sliver: Tolerance | None = None
                              ) -> tuple[Facts, dict[str, Any]]:
    """Return what :func:`footprint_facts` does, from the shapes read through the ORM and
    measured with shapely (the detail report's way; the reference of the tests)."""
    sliver = sliver or tolerance()
    report = footprint_report(footprint)
    plans = plan_overlaps(footprint, report.plans)
    plan_names = {str(h.plan.objektidentitet): h.plan.beteckning for h in plans}
    regulations = [_regulation(h, plan_names) for h in report.regulations]
    no_building = [h.regulation.geom for h, r in zip(report.regulations, regulations,
                                                      strict=True)
                   if r.limit.kind == Kind.NO_BUILDING
                   and not sliver.sliver(r.overlap_m2, r.share_percent)]
    prop, kommunkod = _property(footprint, report.parcels, sliver)
    versions = source_versions(LAYERS, kommunkod)
    shore = shoreline_nearest(footprint) if _has_shoreline(versions) else None
    facts = Facts(
        footprint_m2=footprint.area,
        plans=tuple(PlanFacts(
            beteckning=h.plan.beteckning, namn=h.plan.namn, status=h.plan.status,
            typ=h.plan.typ, datum_lagakraft=h.plan.datum_lagakraft,
            genomforandetid=h.plan.genomforandetid, overlap_m2=round(h.overlap_m2, 2),
            share_percent=round(h.share_percent, 2)) for h in plans),
        regulations=tuple(regulations),
        no_building_m2=overlap_m2(footprint, no_building),
        property=prop, height_m=height_m,
        shoreline_distance_m=None if shore is None else shore.distance_m)
    return facts, versions_json(versions)


def _regulation(hit: RegulationHit, plan_names: dict[str, str]) -> RegulationFacts:
    regulation = hit.regulation
    return RegulationFacts(
        bestammelsekod=regulation.bestammelsekod, beteckning=regulation.beteckning,
        text=regulation.bestammelseformulering,
        template=hit.catalogue.bestammelseformulering if hit.catalogue else "",
        varde=regulation.varde, overlap_m2=hit.overlap_m2, share_percent=hit.share_percent,
        plan=plan_names.get(str(regulation.plan_objektidentitet), ""))


def _property(footprint: GEOSGeometry, parcels: list[Parcel], sliver: Tolerance
              ) -> tuple[PropertyFacts | None, str | None]:
    """Return the property most of the footprint stands on, and its municipality."""
    overlaps: dict[Any, float] = defaultdict(float)
    first: dict[Any, Parcel] = {}
    for parcel in parcels:
        overlaps[parcel.registerenhetsreferens] += overlap_m2(footprint, [parcel.geom])
        first.setdefault(parcel.registerenhetsreferens, parcel)
    if not overlaps:
        return None, None
    ref = max(overlaps, key=lambda k: (overlaps[k], str(k)))
    main = first[ref]
    area = footprint.area
    others = tuple(sorted(first[k].beteckning for k, m2 in overlaps.items() if k != ref
                          and not sliver.sliver(round(m2, 2),
                                                round(100.0 * m2 / area if area else 0.0, 2))))
    areas = list(property_parcels(main))
    buildings = [b.geom for b in property_buildings(main)]
    return PropertyFacts(
        beteckning=main.beteckning, areas=len(areas),
        area_m2=sum(p.geom.area for p in areas),
        existing_m2=union_m2(buildings), built_m2=union_m2([*buildings, footprint]),
        others=others), main.kommunkod


def data_versions(kommunkod: str | None) -> dict[str, Any]:
    """Return, for each source of the layers read, the last good sync it was read at."""
    return versions_json(source_versions(LAYERS, kommunkod))


def versions_json(versions: list[SourceVersion]) -> dict[str, Any]:
    """Return the data versions of a result, by source name."""
    return {v.source: {"layer": v.holds, "sync_run": v.sync_run,
                       "finished_at": v.finished_at.isoformat() if v.finished_at else None,
                       "source_version": v.source_version or None}
            for v in versions}
