"""The measured checks of a footprint against the detailed plan (pure: figures in, results out).

``measure.py`` asks geodata for the figures (:class:`Facts`); :func:`evaluate` turns them
into results, each ``ok``, ``fail`` or ``review`` (an officer's judgement) with the
measured value, the limit, its unit, and the regulation's code and text:

- ``plan``: the footprint lies in one detailed plan that has gained legal force (laga
  kraft); outside a plan, in a plan without legal force, partly outside or in several
  plans it is for the officer. Measured: the percentage of the footprint in the plan.
- ``no_building``: m² of the footprint on land where building is not allowed; over 0 fails.
- ``coverage``: building area (the property's standing buildings and the footprint,
  overlaps counted once) against an e1-type limit, in m² or percent of the property's
  area (all its areas).
- ``height``: the given height against an h1-type maximum.
- ``shoreline``: the distance from the footprint to the nearest shoreline against the
  general shore protection (strandskydd, miljöbalken 7:13-14, 100 m): within it an
  exemption (a DI case) may be needed, for the officer; beyond it ok; where the cache has
  no shoreline data for the area, for the officer too (not measured is not fine).
- ``neighbours``: outside a plan, or when a check of the plan fails or needs judging, the
  neighbours may have to be heard (PBL 9:25): for the officer; otherwise ok. Shore
  protection is not part of the plan and does not count here.

Overlaps below the sliver tolerance, in m² *and* in percent of the footprint (digitising
noise), are listed as slivers and not counted. Figures are rounded to 0.01 before they are
compared, so what is shown is what was decided on.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import math
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.conf import settings
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext, ngettext

from permits.checks.formulation import Kind, Limit, Unit, limit_of


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    REVIEW = "review"


class Code(StrEnum):
    PLAN = "plan"
    NO_BUILDING = "no_building"
    COVERAGE = "coverage"
    HEIGHT = "height"
    SHORELINE = "shoreline"
    NEIGHBOURS = "neighbours"


@dataclass(frozen=True)
class Tolerance:
    """Overlaps smaller than both figures are digitising noise (slivers)."""

    m2: float
    percent: float

    def sliver(self, overlap_m2: float, share_percent: float) -> bool:
        return overlap_m2 < self.m2 and share_percent < self.percent


@dataclass(frozen=True)
class PlanFacts:
    beteckning: str
    namn: str
    status: str
    typ: str
    datum_lagakraft: date | None
    genomforandetid: int | None
    overlap_m2: float
    share_percent: float

    @property
    def in_force(self) -> bool:
        return self.status.lower().replace(" ", "") == "lagakraft"

    @property
    def genomforandetid_slutar(self) -> date | None:
        """Return the day the implementation period ends (None if the plan has none)."""
        if self.datum_lagakraft is None or self.genomforandetid is None:
            return None
        start = self.datum_lagakraft
        year = start.year + self.genomforandetid
        return start.replace(year=year, day=min(start.day,
                                                calendar.monthrange(year, start.month)[1]))


@dataclass(frozen=True)
class RegulationFacts:
    """A regulation area the footprint overlaps; ``template`` is the catalogue's text."""

    bestammelsekod: str
    beteckning: str
    text: str
    template: str
    varde: float | None
    overlap_m2: float
    share_percent: float
    plan: str = ""

    @functools.cached_property
    def limit(self) -> Limit:
        # The rules ask for it several times a footprint (cached_property writes to the
        # instance's __dict__, past the frozen dataclass's __setattr__).
        return limit_of(self.bestammelsekod, self.template, self.text, self.varde)


@dataclass(frozen=True)
class PropertyFacts:
    """The property the footprint stands on (most of it), with what is built there."""

    beteckning: str
    areas: int
    area_m2: float
    existing_m2: float
    built_m2: float
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    footprint_m2: float
    plans: tuple[PlanFacts, ...]
    regulations: tuple[RegulationFacts, ...]
    no_building_m2: float
    property: PropertyFacts | None
    height_m: float | None = None
    # To the nearest shoreline, in m (0 where the footprint meets it); None: the cache has
    # no shoreline data for the footprint's area.
    shoreline_distance_m: float | None = None


@dataclass(frozen=True)
class CheckResult:
    code: Code
    status: Status
    measured: float | None
    limit: float | None
    unit: Unit | None
    bestammelsekod: str | None
    text: str
    message: str = ""


@dataclass
class Outcome:
    plan: PlanFacts | None
    checks: list[CheckResult] = field(default_factory=list)


# The language a batch of checks is written in, read once for the batch: looking up the
# active language costs more than the cached message (a re-check writes tens of thousands).
_batch_language: ContextVar[str | None] = ContextVar("checks_batch_language", default=None)


@contextlib.contextmanager
def one_language() -> Iterator[None]:
    """Write every check within the block in the language active at its start."""
    token = _batch_language.set(get_language())
    try:
        yield
    finally:
        _batch_language.reset(token)


def _language() -> str | None:
    return _batch_language.get() or get_language()


def _(message: str) -> str:
    """Return a message in the active language (a re-check asks for the same few
    messages thousands of times; the catalogues do not change in a process)."""
    return _translated(_language(), message)


@functools.lru_cache(maxsize=1024)
def _translated(language: str | None, message: str) -> str:
    return gettext(message)


def _n(value: float) -> str:
    return _number(_language(), float(value), 2, math.copysign(1.0, value))


# A re-check renders the same few figures (0, 100, a limit) thousands of times; Django's
# number_format looks up the locale's format on each call. The sign is part of the key,
# -0.0 being equal to 0.0.
@functools.lru_cache(maxsize=16384)
def _number(language: str | None, value: float, digits: int, _sign: float) -> str:
    return number_format(value, digits)


def counted(facts: Facts, tolerance: Tolerance) -> list[RegulationFacts]:
    """Return the regulations the footprint overlaps by more than a sliver."""
    return [r for r in facts.regulations
            if not tolerance.sliver(r.overlap_m2, r.share_percent)]


def evaluate(facts: Facts, *, tolerance: Tolerance, today: date,
             shore_protection_m: float | None = None) -> Outcome:
    """Return the checks of a footprint, from its measured facts.

    ``shore_protection_m`` is the reach of the shore protection (by default the setting
    LOVKARTA_SHORE_PROTECTION_M).
    """
    plans = [p for p in facts.plans if not tolerance.sliver(p.overlap_m2, p.share_percent)]
    plan = next((p for p in plans if p.in_force), plans[0] if plans else None)
    outcome = Outcome(plan=plan)
    outcome.checks.append(plan_check(facts, plans, plan, tolerance, today))
    regulations = counted(facts, tolerance)
    if plan is not None or any(r.limit.kind == Kind.NO_BUILDING for r in regulations):
        outcome.checks.append(no_building_check(facts, regulations))
    outcome.checks += coverage_checks(facts, regulations)
    outcome.checks += height_checks(facts, regulations)
    of_the_plan = list(outcome.checks)
    if shore_protection_m is None:
        shore_protection_m = float(settings.LOVKARTA_SHORE_PROTECTION_M)
    outcome.checks.append(shoreline_check(facts.shoreline_distance_m, shore_protection_m,
                                          in_plan=plan is not None))
    outcome.checks.append(neighbours_check(of_the_plan, outside_plan=plan is None))
    return outcome


def plan_check(facts: Facts, plans: list[PlanFacts], plan: PlanFacts | None,
               tolerance: Tolerance, today: date) -> CheckResult:
    """Return the check that the footprint lies in one detailed plan in force."""
    if plan is None:
        return CheckResult(Code.PLAN, Status.REVIEW, 0.0, 100.0, Unit.PERCENT, None,
                           _("Outside a detailed plan."),
                           _("The footprint lies outside any detailed plan: the application "
                             "is judged against the general rules (PBL chapters 2 and 8)."))
    problems = []
    outside_m2 = max(0.0, facts.footprint_m2 - plan.overlap_m2)
    outside_percent = max(0.0, 100.0 - plan.share_percent)
    if not plan.in_force:
        problems.append(_("The plan has not gained legal force (laga kraft): its "
                          "regulations do not apply yet."))
    if not tolerance.sliver(round(outside_m2, 2), round(outside_percent, 2)):
        problems.append(_("%(share)s percent of the footprint lies outside the plan.")
                        % {"share": _n(outside_percent)})
    if len(plans) > 1:
        problems.append(_("The footprint lies in more than one plan: %(plans)s.")
                        % {"plans": ", ".join(p.beteckning for p in plans)})
    notes = list(problems)
    end = plan.genomforandetid_slutar
    if end is not None:
        notes.append((_("Its implementation period ran out on %(date)s.") if end < today
                      else _("Its implementation period runs until %(date)s."))
                     % {"date": date_format(end, "SHORT_DATE_FORMAT")})
    text = _("Detailed plan %(plan)s (%(status)s).") % {"plan": plan.beteckning,
                                                         "status": plan.status}
    status = Status.REVIEW if problems else Status.OK
    return CheckResult(Code.PLAN, status, round(plan.share_percent, 2), 100.0, Unit.PERCENT,
                       None, text, " ".join(notes))


def no_building_check(facts: Facts, regulations: list[RegulationFacts]) -> CheckResult:
    """Return the check of the footprint against land where building is not allowed."""
    hits = [r for r in regulations if r.limit.kind == Kind.NO_BUILDING]
    measured = round(facts.no_building_m2, 2)
    status = Status.FAIL if measured > 0 else Status.OK
    text = hits[0].text if hits else "Marken får inte förses med byggnad"
    message = (_("%(m2)s m² of the footprint lies on land where building is not allowed.")
               % {"m2": _n(measured)} if status == Status.FAIL else
               _("No part of the footprint lies on land where building is not allowed."))
    return CheckResult(Code.NO_BUILDING, status, measured, 0.0, Unit.M2,
                       hits[0].bestammelsekod if hits else None, text, message)


def _distinct(regulations: list[RegulationFacts], kind: Kind) -> list[RegulationFacts]:
    """Return one regulation of each code and value of a kind (largest overlap first)."""
    seen: dict[tuple[str, float | None, str], RegulationFacts] = {}
    for r in sorted(regulations, key=lambda r: -r.overlap_m2):
        if r.limit.kind == kind:
            seen.setdefault((r.bestammelsekod, r.limit.value, r.text), r)
    return list(seen.values())


def coverage_checks(facts: Facts, regulations: list[RegulationFacts]) -> list[CheckResult]:
    """Return the checks of the property's building area against e1-type limits."""
    out = []
    prop = facts.property
    for r in _distinct(regulations, Kind.COVERAGE):
        limit = r.limit
        if prop is None:
            out.append(CheckResult(Code.COVERAGE, Status.REVIEW, None, limit.value, limit.unit,
                                   r.bestammelsekod, r.text,
                                   _("The footprint lies on no property in the cache.")))
            continue
        measured = (round(100.0 * prop.built_m2 / prop.area_m2, 2)
                    if limit.unit == Unit.PERCENT and prop.area_m2 else round(prop.built_m2, 2))
        message = (ngettext(
            "Building area %(built)s m² (standing buildings %(existing)s m² and the "
            "footprint) on %(property)s, %(area)s m² in %(areas)d area.",
            "Building area %(built)s m² (standing buildings %(existing)s m² and the "
            "footprint) on %(property)s, %(area)s m² in %(areas)d areas.", prop.areas)
                   % {"built": _n(prop.built_m2), "existing": _n(prop.existing_m2),
                      "property": prop.beteckning, "area": _n(prop.area_m2),
                      "areas": prop.areas})
        if limit.judge or limit.value is None:
            status = Status.REVIEW
            message += " " + _("The limit cannot be compared with the measured area: read "
                               "the regulation.")
        elif measured > limit.value:
            status = Status.FAIL
        elif prop.others:
            status = Status.REVIEW
            message += " " + (_("The footprint crosses into another property: %(others)s.")
                              % {"others": ", ".join(prop.others)})
        else:
            status = Status.OK
        # A limit in units the measure is not in (a share of something else) is not shown
        # beside it as if it were comparable.
        out.append(CheckResult(Code.COVERAGE, status, measured,
                               limit.value if limit.unit else None, limit.unit or Unit.M2,
                               r.bestammelsekod, r.text, message))
    return out


def height_checks(facts: Facts, regulations: list[RegulationFacts]) -> list[CheckResult]:
    """Return the checks of the given height against h1-type maxima."""
    out = []
    for r in _distinct(regulations, Kind.HEIGHT):
        limit = r.limit
        measured = None if facts.height_m is None else round(facts.height_m, 2)
        message = ""
        if limit.judge or limit.value is None:
            status = Status.REVIEW
            message = _("The height limit cannot be compared with a height above ground "
                        "(it is above the datum, or unreadable): read the regulation.")
        elif measured is None:
            status = Status.REVIEW
            message = _("No height was given.")
        else:
            status = Status.FAIL if measured > limit.value else Status.OK
        out.append(CheckResult(Code.HEIGHT, status, measured, limit.value, Unit.M,
                               r.bestammelsekod, r.text, message))
    return out


def _m(value: float) -> str:
    """A distance as people write it: "100", or "99,5" where it has decimals."""
    value = float(value)
    return _number(_language(), value, 0 if value.is_integer() else 2,
                   math.copysign(1.0, value))


def shoreline_check(distance_m: float | None, limit_m: float, *,
                    in_plan: bool) -> CheckResult:
    """Return the check of the footprint's distance to the shoreline against the reach
    of the shore protection (within it, or unmeasured, for the officer)."""
    limit = {"limit": _m(limit_m)}
    text = (_("Shore protection (strandskydd, Environmental Code chapter 7) applies on land "
              "and in the water within %(limit)s m of the shoreline of the sea, lakes and "
              "watercourses; the county board may have extended it to 300 m. Building "
              "there needs an exemption (a DI case), unless a detailed plan has lifted it.")
            % limit)
    if distance_m is None:
        return CheckResult(Code.SHORELINE, Status.REVIEW, None, limit_m, Unit.M, None, text,
                           _("There is no shoreline data for this area, so the distance to "
                             "the shore was not measured. If you build within %(limit)s m "
                             "of the sea, a lake or a river, shore protection may apply.")
                           % limit)
    measured = round(distance_m, 2)
    if measured > limit_m:
        return CheckResult(Code.SHORELINE, Status.OK, measured, limit_m, Unit.M, None, text,
                           _("The footprint is %(m)s m from the shoreline, beyond the "
                             "%(limit)s m of shore protection.")
                           % {"m": _n(measured), **limit})
    message = (_("The footprint reaches the shoreline: shore protection applies, and an "
                 "exemption (strandskyddsdispens) may be needed, applied for as a case of "
                 "its own (DI).") if measured == 0 else
               _("The footprint is %(m)s m from the shoreline, within the %(limit)s m of "
                 "shore protection: an exemption (strandskyddsdispens) may be needed, "
                 "applied for as a case of its own (DI).") % {"m": _n(measured), **limit})
    if in_plan:
        message += " " + _("Inside a detailed plan, the plan may have lifted the shore "
                           "protection: see its regulations.")
    return CheckResult(Code.SHORELINE, Status.REVIEW, measured, limit_m, Unit.M, None, text,
                       message)


def neighbours_check(checks: list[CheckResult], *, outside_plan: bool) -> CheckResult:
    """Return whether the neighbours must be heard (PBL 9:25), from the other checks."""
    text = _("Neighbours are heard when the measure deviates from the plan or is outside "
             "a plan (PBL 9:25).")
    if outside_plan:
        message = _("The footprint lies outside a detailed plan: the neighbours must be "
                    "heard.")
    elif any(c.status == Status.FAIL for c in checks):
        message = _("A check fails: the measure deviates from the plan and the neighbours "
                    "must be heard.")
    elif any(c.status == Status.REVIEW for c in checks):
        message = _("A check needs the officer's judgement: if the measure deviates from "
                    "the plan, the neighbours must be heard.")
    else:
        return CheckResult(Code.NEIGHBOURS, Status.OK, None, None, None, None, text,
                           _("Every check is within the plan: no hearing is needed for "
                             "these checks."))
    return CheckResult(Code.NEIGHBOURS, Status.REVIEW, None, None, None, None, text, message)
