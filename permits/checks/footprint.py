"""Check a footprint against the detailed plan: measure it, then judge the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.utils import timezone

from geodata.crs import STORAGE_SRID
from permits.checks.measure import footprint_facts, tolerance
from permits.checks.rules import CheckResult, Facts, PlanFacts, RegulationFacts, evaluate


@dataclass(frozen=True)
class RegulationOverlap:
    """A regulation area the footprint overlaps; a sliver is listed but not counted."""

    regulation: RegulationFacts
    sliver: bool


@dataclass(frozen=True)
class CheckReport:
    """The checks of one footprint, the figures behind them and the data they read."""

    facts: Facts
    plan: PlanFacts | None
    checks: list[CheckResult]
    regulations: list[RegulationOverlap]
    data_versions: dict[str, Any]
    today: date


def footprint_check(footprint: GEOSGeometry, *, height_m: float | None = None,
                    today: date | None = None) -> CheckReport:
    """Return the measured checks of a footprint (an area in the storage CRS)."""
    if footprint.srid != STORAGE_SRID:
        raise ValueError(f"the footprint must be in EPSG:{STORAGE_SRID}")
    today = today or timezone.localdate()
    sliver = tolerance()
    facts, versions = footprint_facts(footprint, height_m=height_m, sliver=sliver)
    outcome = evaluate(facts, tolerance=sliver, today=today)
    return CheckReport(
        facts=facts, plan=outcome.plan, checks=outcome.checks,
        regulations=[RegulationOverlap(r, sliver.sliver(r.overlap_m2, r.share_percent))
                     for r in facts.regulations],
        data_versions=versions, today=today)


def report_json(report: CheckReport) -> dict[str, Any]:
    """Return a check report in the shape of :class:`ChecksOut`."""
    plan = report.plan
    end = plan.genomforandetid_slutar if plan else None
    return {
        "plan": {
            "beteckning": plan.beteckning, "namn": plan.namn, "status": plan.status,
            "typ": plan.typ, "laga_kraft": plan.in_force,
            "datum_lagakraft": plan.datum_lagakraft,
            "genomforandetid_ar": plan.genomforandetid, "genomforandetid_slutar": end,
            "genomforandetid_utgangen": None if end is None else end < report.today,
            "overlap_m2": plan.overlap_m2, "share_percent": plan.share_percent,
        } if plan else None,
        "footprint_m2": round(report.facts.footprint_m2, 2),
        "checks": [{"code": c.code.value, "status": c.status.value, "measured": c.measured,
                    "limit": c.limit, "unit": c.unit.value if c.unit else None,
                    "bestammelsekod": c.bestammelsekod, "text": c.text,
                    "message": c.message} for c in report.checks],
        "regulations": [{
            "bestammelsekod": o.regulation.bestammelsekod,
            "beteckning": o.regulation.beteckning, "text": o.regulation.text,
            "plan": o.regulation.plan or None, "overlap_m2": o.regulation.overlap_m2,
            "share_percent": o.regulation.share_percent, "sliver": o.sliver,
        } for o in report.regulations],
        "sliver_tolerance": {"m2": float(settings.LOVKARTA_SLIVER_M2),
                             "percent": float(settings.LOVKARTA_SLIVER_PERCENT)},
        "data_versions": report.data_versions,
    }
