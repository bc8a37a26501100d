"""The notebooks for GIS staff, run from top to bottom by a real Jupyter kernel (this
Python's ipykernel, driven by nbclient) against the project served over HTTP by
``live_server``, with the demo's case history in the database. Each notebook reads the
running project (statistics, the export page, the OGC API), never the fixture
GeoPackage; what it prints is checked against the database."""

from __future__ import annotations

import re
import statistics as stats
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from django.contrib.gis.geos import Polygon
from django.utils import timezone
from nbclient import NotebookClient

from geodata.models import ExportRun, Parcel, Plan
from geodata.publish.registry import all_collections
from permits.models import Application
from permits.workflow import Status

# Transactional: the live server's thread reads what the fixtures committed.
pytestmark = pytest.mark.django_db(transaction=True)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
KERNEL = "lovkarta-test"
CELL_TIMEOUT = 120  # seconds a cell may take on a loaded 2-core machine


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter (the venv's) in a Jupyter path of the test's own,
    so that no `python3` kernel installed on the machine is picked instead."""
    from ipykernel.kernelspec import install

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    install(kernel_name=KERNEL, prefix=str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter" / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL


def run(path: Path, kernel: str, workdir: Path) -> str:
    """Execute a notebook in a fresh kernel; return what its cells printed."""
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells), (
        f"{path.name} is committed with outputs; clear them")
    NotebookClient(notebook, kernel_name=kernel, timeout=CELL_TIMEOUT, startup_timeout=60,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return "".join(output.get("text", "") for cell in notebook.cells
                   if cell.cell_type == "code" for output in cell.outputs
                   if output.output_type == "stream" and output.name == "stdout")


def line(printed: str, label: str) -> str:
    """What follows ``label`` on the line it starts."""
    found = re.search(rf"^{re.escape(label)}\s*(.*)$", printed, re.MULTILINE)
    assert found, f"{label!r} not printed in:\n{printed}"
    return found.group(1).strip()


def sent() -> list[Application]:
    return list(Application.objects.exclude(status=Status.DRAFT))


def check_permit_pipeline(printed: str, out: Path) -> None:
    cases = sent()
    decided = [a for a in cases if a.decided_on and a.received_on]
    assert line(printed, "licence:") == "CC0-1.0"
    assert line(printed, "applications:") == str(len(cases)) == "40"
    assert line(printed, "decisions:") == str(sum(1 for a in cases if a.outcome))

    months = Counter(timezone.localtime(a.submitted_at).strftime("%Y-%m") for a in cases)
    busiest = max(sorted(months), key=lambda m: months[m])  # the first of equals
    assert line(printed, "months:") == (
        f"{len(months)}; busiest: {busiest} ({months[busiest]} applications)")

    days = [(a.decided_on - (a.complete_on or a.received_on)).days for a in decided]
    in_time = [a.deadline is None or a.decided_on <= a.deadline for a in decided]
    assert line(printed, "median days to decision:") == f"{stats.median(days):g}"
    assert line(printed, "decided in time:") == (
        f"{round(100 * sum(in_time) / len(in_time), 1):g} %")

    late = [a for a in decided if a.fee_reduction_fifths]
    reduced = sum(round(a.fee_sek * min(a.fee_reduction_fifths, 5) / 5) for a in late)
    assert len(late) == 4 and reduced > 0
    assert line(printed, "fee reductions:") == (
        f"{len(late)} late decisions, {reduced} kr reduced")


def check_cases_per_plan(printed: str, out: Path) -> None:
    cases = Application.objects.exclude(status=Status.DRAFT).filter(location__isnull=False)
    plans = list(Plan.objects.all())
    assert line(printed, "logged in as") == "gis"
    assert line(printed, "exported:").startswith(f"{cases.count()} cases, {len(plans)} plans")
    # Every export is recorded, made through the page by the notebook's user.
    runs = ExportRun.objects.filter(requested_by__username="gis", status=ExportRun.Status.DONE)
    assert sorted(runs.values_list("layer", flat=True)) == ["cases", "plans"]

    expected: dict[str, tuple[int, int]] = {}
    inside: set[int] = set()
    for plan in plans:
        within = cases.filter(location__within=plan.geom)
        numbers = (within.count(), within.filter(decided_on__isnull=False).count())
        if numbers[0]:
            expected[plan.beteckning] = numbers
        inside.update(within.values_list("pk", flat=True))
    table = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(
        r"^(\S+)\s+(\d+)\s+(\d+)\s", printed, re.MULTILINE)}
    assert table == expected and len(expected) >= 5
    decided_inside = cases.filter(pk__in=inside, decided_on__isnull=False).count()
    assert line(printed, "cases in a plan:") == str(len(inside))
    assert line(printed, "decided cases in a plan:") == str(decided_inside) != "0"
    assert line(printed, "cases outside any plan:") == str(cases.count() - len(inside))
    assert (out / "arenden-per-detaljplan.csv").read_text(encoding="utf-8-sig").startswith(
        "beteckning,cases,decided")


def check_ogc_api_with_owslib(printed: str, out: Path) -> None:
    assert line(printed, "collections:") == ", ".join(c.id for c in all_collections())
    assert line(printed, "Content-Crs:") == "<http://www.opengis.net/def/crs/EPSG/0/3006>"
    area = Polygon.from_bbox((616_000, 6_919_700, 616_600, 6_920_200))
    area.srid = 3006
    parcels = list(Parcel.objects.filter(geom__intersects=area))
    assert len(parcels) > 50
    assert line(printed, "read") == (
        f"{len(parcels)} features; the server matched {len(parcels)}")
    # True only when the axes were swapped: read as (x, y), the parcels lie far off.
    assert line(printed, "every parcel touches the area:") == "True"
    properties = len({p.registerenhetsreferens for p in parcels})
    assert line(printed, "parcel areas:") == f"{len(parcels)}; properties: {properties}"
    hectares = float(line(printed, "total area:").removesuffix(" ha"))
    assert hectares == pytest.approx(sum(p.geom.area for p in parcels) / 10_000, abs=0.06)


def check_parcels_and_plans(printed: str, out: Path) -> None:
    parcels = list(Parcel.objects.filter(kommunkod="2281"))
    plans = [plan.geom.prepared for plan in Plan.objects.filter(kommun="2281")]
    properties = len({p.registerenhetsreferens for p in parcels})
    assert re.search(rf"^{len(parcels)} parcel areas, {properties} properties, "
                     rf"{len(plans)} plans$", printed, re.MULTILINE), printed
    outside = sum(1 for p in parcels
                  if not any(plan.contains(p.geom.point_on_surface) for plan in plans))
    assert 0 < outside < len(parcels)
    assert line(printed, "outside any plan:") == str(outside)
    with_prickmark = int(line(printed, "parcel areas with prickmark:"))
    assert 0 < with_prickmark <= len(parcels) - outside


# In this order: the notebooks that only read go first, the one that exports (and so
# writes to the database through the export page) last.
CHECKS: dict[str, Callable[[str, Path], None]] = {
    "permit_pipeline.ipynb": check_permit_pipeline,
    "ogc_api_with_owslib.ipynb": check_ogc_api_with_owslib,
    "parcels_and_plans.ipynb": check_parcels_and_plans,
    "cases_per_plan.ipynb": check_cases_per_plan,
}


def test_every_notebook_on_the_running_project(demo_cases, live_server, kernel, tmp_path,
                                              monkeypatch):
    # One test for all: the case history is made once (a transactional test's data is
    # gone after it), and each notebook starts its own kernel.
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CHECKS), (
        "every notebook needs its checks here")
    monkeypatch.setenv("LOVKARTA_URL", live_server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("LOVKARTA_KOMMUN", "LOVKARTA_USER", "LOVKARTA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the notebooks' defaults: the demo's
    for name, check in CHECKS.items():
        out = tmp_path / name.removesuffix(".ipynb")
        out.mkdir()
        monkeypatch.setenv("LOVKARTA_OUT", str(out))
        check(run(NOTEBOOKS / name, kernel, out), out)
