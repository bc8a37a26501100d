"""The checks of many footprints at once, from a few set-based overlays.

The same figures and rules as :func:`permits.checks.footprint.footprint_check`, one
footprint at a time there; here :mod:`geodata.overlays` measures a whole set of
footprints in a few SQL statements (regulations, plans, parcel areas, the property's
areas and buildings), and each footprint's :class:`Facts` are built from those rows by
the per-footprint path's own rules (largest overlap first, slivers not counted, the
property most of the footprint stands on), then judged by :func:`rules.evaluate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from geodata.overlays import (
    Footprints,
    FootprintSet,
    Overlap,
    ParcelOverlap,
    built_areas,
    by_key,
    footprint_overlaps,
    nearest_shorelines,
    property_areas,
    shape_area,
    union_overlaps,
)
from geodata.selectors import catalogue_templates, shoreline_sources
from permits.checks.footprint import CheckReport, RegulationOverlap, report_json
from permits.checks.formulation import Kind
from permits.checks.measure import data_versions, tolerance
from permits.checks.rules import (
    Facts,
    PlanFacts,
    PropertyFacts,
    RegulationFacts,
    Tolerance,
    evaluate,
    one_language,
)


def footprints_reports(footprints: Footprints,
                       heights: dict[int, float | None], *, today: date
                       ) -> dict[int, dict[str, Any]]:
    """Return the checks of each footprint (by key) as ``report_json`` gives them."""
    sliver = tolerance()
    facts = footprints_facts(footprints, heights, sliver=sliver)
    versions: dict[str | None, dict[str, Any]] = {}
    out = {}
    with one_language():
        for key, (fact, kommunkod) in facts.items():
            if kommunkod not in versions:
                versions[kommunkod] = data_versions(kommunkod)
            outcome = evaluate(fact, tolerance=sliver, today=today)
            out[key] = report_json(CheckReport(
                facts=fact, plan=outcome.plan, checks=outcome.checks,
                regulations=[RegulationOverlap(r, sliver.sliver(r.overlap_m2,
                                                                r.share_percent))
                             for r in fact.regulations],
                data_versions=versions[kommunkod], today=today))
    return out


def footprints_facts(footprints: Footprints, heights: dict[int, float | None],
                     *, sliver: Tolerance,
                     shore_data: Callable[[str | None], bool] | None = None
                     ) -> dict[int, tuple[Facts, str | None]]:
    """Return the measured facts of each footprint (by key), and its municipality.

    ``shore_data`` tells whether the cache holds shoreline data for a municipality
    (default: whether it has a shoreline source); one footprint's checks answer it from
    the data versions they read anyway.
    """
    fps = footprints if isinstance(footprints, FootprintSet) else FootprintSet(footprints)
    if not fps.wkb:
        return {}
    found = footprint_overlaps(fps)
    regulations = found.rows["geodata_regulation"]
    plans = found.rows["geodata_plan"]
    templates = catalogue_templates({r[1] for r in regulations.values()})
    regulation_rows, plan_rows = by_key(found.regulations), by_key(found.plans)
    parcel_rows = by_key(found.parcels)
    partial: dict[int, tuple[list[PlanFacts], list[RegulationFacts], list[Overlap]]] = {}
    mains: dict[int, tuple[ParcelOverlap, tuple[str, ...]]] = {}
    for key in fps.sorted_keys():
        area = fps.area[key]
        in_plans = sorted(plan_rows.get(key, []),
                          key=lambda o: (-o.overlap_m2, plans[o.id][2]))
        hits = [_plan(plans[o.id], o.overlap_m2, area) for o in in_plans]
        names = {str(plans[o.id][1]): plans[o.id][2] for o in in_plans}
        pairs = [(_regulation(regulations[o.id], o.overlap_m2, area, templates, names), o)
                 for o in regulation_rows.get(key, [])]
        pairs.sort(key=lambda p: (-p[0].overlap_m2, p[0].beteckning))
        facts = [r for r, _o in pairs]
        no_building = [o for r, o in pairs if r.limit.kind == Kind.NO_BUILDING
                       and not sliver.sliver(r.overlap_m2, r.share_percent)]
        partial[key] = (hits, facts, no_building)
        main = _main_parcel(parcel_rows.get(key, []), area, sliver)
        if main is not None:
            mains[key] = main
    unions = union_overlaps(fps, {k: [o.id for o in p[2]]
                                  for k, p in partial.items() if len(p[2]) > 1})
    main_ids = {k: m.id for k, (m, _others) in mains.items()}
    areas, built = property_areas(main_ids), built_areas(fps, main_ids)
    kommunkod = {k: mains[k][0].kommunkod if k in mains else None for k in fps.sorted_keys()}
    # The distance is measured where the cache holds shoreline data for the municipality
    # (as the per-footprint path asks it); otherwise it is not measured.
    has_shore = shore_data or (lambda kk: shoreline_sources(kk).exists())
    shore = {kk: has_shore(kk) for kk in set(kommunkod.values())}
    shores = nearest_shorelines(fps.subset(k for k in fps.sorted_keys() if shore[kommunkod[k]]))
    out: dict[int, tuple[Facts, str | None]] = {}
    for key, (hits, facts, no_building) in partial.items():
        prop = None
        if key in mains:
            main, others = mains[key]
            where = built.get(key)
            prop = PropertyFacts(
                beteckning=main.beteckning, areas=areas[key].areas,
                area_m2=areas[key].area_m2, existing_m2=where.existing_m2 if where else 0.0,
                built_m2=where.built_m2 if where else shape_area(fps.wkb[key]), others=others)
        out[key] = (Facts(
            footprint_m2=fps.area[key],
            plans=tuple(hits), regulations=tuple(facts),
            no_building_m2=(unions.get(key, 0.0) if len(no_building) > 1 else
                            no_building[0].overlap_m2 if no_building else 0.0),
            property=prop, height_m=heights.get(key),
            shoreline_distance_m=shores.get(key)),
            kommunkod[key])
    return out


def _share(overlap_m2: float, area: float) -> float:
    return 100.0 * overlap_m2 / area if area else 0.0


def _plan(row: tuple[Any, ...], overlap_m2: float, area: float) -> PlanFacts:
    """The facts of a plan row (as ``measure.footprint_facts_by_shapes`` makes them of a hit)."""
    _id, _oid, beteckning, namn, status, typ, lagakraft, genomforandetid = row
    return PlanFacts(beteckning=beteckning, namn=namn, status=status, typ=typ,
                     datum_lagakraft=lagakraft, genomforandetid=genomforandetid,
                     overlap_m2=round(overlap_m2, 2),
                     share_percent=round(_share(overlap_m2, area), 2))


def _regulation(row: tuple[Any, ...], overlap_m2: float, area: float,
                templates: dict[str, str], plans: dict[str, str]) -> RegulationFacts:
    """The facts of a regulation row (as ``measure._regulation`` makes them of a hit)."""
    _id, code, beteckning, text, varde, plan = row
    return RegulationFacts(
        bestammelsekod=code, beteckning=beteckning, text=text,
        template=templates.get(code, ""), varde=varde, overlap_m2=round(overlap_m2, 2),
        share_percent=round(_share(overlap_m2, area), 2), plan=plans.get(str(plan), ""))


def _main_parcel(rows: list[ParcelOverlap], area: float, sliver: Tolerance
                 ) -> tuple[ParcelOverlap, tuple[str, ...]] | None:
    """Return the first area of the property most of the footprint stands on, and the
    other properties it crosses into by more than a sliver (as ``measure._property``)."""
    overlaps: dict[Any, float] = defaultdict(float)
    first: dict[Any, ParcelOverlap] = {}
    for row in rows:  # in the order of the per-footprint path: designation, area number
        overlaps[row.registerenhetsreferens] += row.overlap_m2
        first.setdefault(row.registerenhetsreferens, row)
    if not overlaps:
        return None
    ref = max(overlaps, key=lambda k: (overlaps[k], str(k)))
    others = tuple(sorted(first[k].beteckning for k, m2 in overlaps.items() if k != ref
                          and not sliver.sliver(round(m2, 2),
                                                round(100.0 * m2 / area if area else 0.0, 2))))
    return first[ref], others
