"""Pages for GIS staff: export a layer (the cache's, or cases) in a format and CRS, with a
filter; the export runs in the background and the page shows its progress, then a link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from geodata.errors import GeodataError
from geodata.exports import parse_bbox
from geodata.exports.runs import export_run_create, export_run_queue
from geodata.models import ExportRun
from permits.forms.gis import ExportForm
from permits.selectors.applications import GIS_GROUP, is_officer


def _gis_or_officer(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_superuser or is_officer(user)
            or user.groups.filter(name=GIS_GROUP).exists()):
        raise PermissionDenied


@login_required
def export_page(request: HttpRequest) -> HttpResponse:
    """The export form, and the user's recent exports."""
    _gis_or_officer(request)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filters = form.filters()
        try:
            if "bbox" in filters:
                filters["bbox"] = list(parse_bbox(filters["bbox"]))
            run = export_run_create(user=request.user, layer=form.cleaned_data["layer"],
                                    file_format=form.cleaned_data["file_format"],
                                    crs=int(form.cleaned_data["crs"]), filters=filters)
        except GeodataError as exc:
            form.add_error(None, str(exc))
        else:
            export_run_queue(run)
            return redirect("permits:gis-export-run", pk=run.pk)
    status = 400 if form.errors else 200
    return render(request, "permits/gis/export.html", {
        "form": form, "runs": ExportRun.objects.filter(requested_by=request.user)[:20]},
        status=status)


def _own_run(request: HttpRequest, pk: int) -> ExportRun:
    _gis_or_officer(request)
    run = ExportRun.objects.filter(pk=pk).first()
    # An export is its maker's (it may hold personal data they alone were allowed).
    if run is None or run.requested_by_id != request.user.pk:
        raise Http404
    return run


@login_required
def export_run(request: HttpRequest, pk: int) -> HttpResponse:
    """An export's progress (the page reloads itself until it is done), then its link."""
    run = _own_run(request, pk)
    return render(request, "permits/gis/run.html", {
        "run": run, "running": run.status in (ExportRun.Status.QUEUED,
                                              ExportRun.Status.RUNNING)})


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The exported file."""
    run = _own_run(request, pk)
    if run.status != ExportRun.Status.DONE or not run.file:
        messages.error(request, _("The export is not ready."))
        return redirect("permits:gis-export-run", pk=pk)
    name = run.file.name.rsplit("/", 1)[-1]
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=name)
