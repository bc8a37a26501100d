"""Export a layer of the cache to a file, showing progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.errors import GeodataError
from geodata.exports import FORMATS, layer_export, parse_bbox, parse_polygon
from geodata.exports.reader import CHUNK_ROWS
from geodata.exports.runs import export_run_create, export_run_finish
from geodata.management.commands.geodata_sync import Command as SyncCommand
from geodata.models import ExportRun

CASE_FILTERS = ("status", "case_type", "received_from", "received_to")


class Command(BaseCommand):
    help = ("Export a layer of the cache (parcels, addresses, buildings, plans, regulations) "
            "or of the cases (cases, checks, neighbours) to GeoPackage, GeoJSON, FlatGeobuf, "
            "GeoParquet, Shapefile (zip) or CSV with WKT.")
    # Runs from cron and Celery: the URLconf and views (maps, PDFs) that Django's system
    # checks import cost a second and are not this command's concern.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("layer", help="one of parcels, addresses, buildings, plans, "
                                           "regulations, cases, checks, neighbours")
        parser.add_argument("--format", required=True, dest="file_format",
                            help=f"one of {', '.join(FORMATS)}")
        parser.add_argument("--out", required=True, help="the file to write")
        parser.add_argument("--crs", help="EPSG:3006 (default), EPSG:3007 to EPSG:3018, "
                                          "EPSG:3021 or EPSG:4326; GeoJSON is always 4326")
        parser.add_argument("--municipality", help="a municipality's code or name")
        parser.add_argument("--bbox", help="minx,miny,maxx,maxy in --bbox-crs")
        parser.add_argument("--polygon", help="WKT or a GeoJSON geometry in --bbox-crs, or "
                                              "a file holding one")
        parser.add_argument("--bbox-crs", help="the CRS of --bbox and --polygon "
                                               "(default EPSG:3006)")
        parser.add_argument("--user", help="who exports (the user name kept in the record "
                                           "of exports; a registered layer such as cases "
                                           "carries what that user may see)")
        # The cases' own filters (cases, checks, neighbours).
        parser.add_argument("--status", nargs="+", help="cases: only of these statuses")
        parser.add_argument("--case-type", nargs="+", dest="case_type",
                            help="cases: only of these case types (BL, RL, ...)")
        parser.add_argument("--received-from", dest="received_from",
                            help="cases: received on or after (YYYY-MM-DD)")
        parser.add_argument("--received-to", dest="received_to",
                            help="cases: received on or before (YYYY-MM-DD)")
        parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS,
                            help=f"rows read and written at a time (default {CHUNK_ROWS})")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth import get_user_model

        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        run = None
        try:
            bbox = parse_bbox(options["bbox"]) if options["bbox"] else None
            polygon = None
            if options["polygon"]:
                text = options["polygon"]
                source = Path(text)
                if len(text) < 1024 and source.is_file():
                    text = source.read_text(encoding="utf-8")
                polygon = parse_polygon(text)
            layer_filters = {k: options[k] for k in CASE_FILTERS if options[k]}
            # Every export is in the record of exports (who, what, which filter), recorded
            # before it is made: one that fails is there too, with its error.
            run = export_run_create(
                user=user, layer=options["layer"], file_format=options["file_format"],
                crs=options["crs"], via="command", filters={
                    "kommunkod": options["municipality"], "bbox": bbox,
                    "bbox_crs": options["bbox_crs"], **layer_filters})
            # The filter as given on the command line (and the municipality's code)
            run.filters = {k: options[k] for k in ("municipality", "bbox", "polygon",
                                                   "bbox_crs", *CASE_FILTERS)
                           if options[k]} | {"out": options["out"]} | (
                {"kommunkod": run.filters["kommunkod"]} if run.filters.get("kommunkod")
                else {})
            run.status = ExportRun.Status.RUNNING
            run.save(update_fields=["status", "filters"])
            result = layer_export(
                options["layer"], file_format=options["file_format"], out=options["out"],
                crs=options["crs"], municipality=options["municipality"], bbox=bbox,
                polygon=polygon, bbox_crs=options["bbox_crs"],
                chunk_rows=max(1, options["chunk_rows"]),
                progress=SyncCommand._progress(options["layer"]), user=user,
                layer_filters=layer_filters)
        except GeodataError as exc:
            sys.stderr.write("\n")
            if run is not None:
                export_run_finish(run, ExportRun.Status.FAILED, error=str(exc))
            raise CommandError(f"{exc} ({exc.code})") from exc
        except BaseException as exc:
            if run is not None:
                export_run_finish(run, ExportRun.Status.FAILED,
                                  error=f"{run.layer}: internal error {type(exc).__name__}")
            raise
        export_run_finish(run, ExportRun.Status.DONE, written=result.features,
                          total=result.features)
        sys.stderr.write("\n")
        rate = result.features / max(result.seconds, 1e-6)
        self.stdout.write(
            f"{result.layer}: {result.features} features written to {result.path} "
            f"({result.label}, EPSG:{result.srid}) in {result.seconds:.1f} s "
            f"({rate:.0f} features/s)")
        for sidecar in result.sidecars:
            self.stdout.write(f"  beside it: {sidecar}")
