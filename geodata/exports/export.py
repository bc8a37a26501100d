"""Export a layer of the cache: read it in chunks, transform, hand the stream to a writer."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext as _

from geodata.crs import STORAGE_SRID, srid_of
from geodata.exports.errors import ExportError, UnsupportedExportCRS
from geodata.exports.filters import export_filter
from geodata.exports.formats import Format, format_get
from geodata.exports.layers import layer_get
from geodata.exports.reader import CHUNK_ROWS, copy_source, layer_batches, layer_count, snapshot

# The CRSs GIS staff work in: SWEREF 99 TM, its twelve local zones, RT 90 and WGS 84.
EXPORT_SRIDS = frozenset({STORAGE_SRID, *range(3007, 3019), 3021, 4326})

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, any files beside it, how many features, how fast."""

    layer: str
    file_format: str  # its name, as given on the command line
    label: str
    srid: int
    path: Path
    sidecars: tuple[Path, ...]
    features: int
    seconds: float
    kommunkod: str | None = None  # the municipality the export was limited to


def export_srid(fmt: Format, crs: str | int | None) -> int:
    """Return the EPSG code an export is written in (400 for one exports do not offer)."""
    if fmt.fixed_srid is not None:
        if crs is not None and srid_of(crs) != fmt.fixed_srid:
            raise UnsupportedExportCRS(
                _("%(format)s is always written in WGS 84 (EPSG:%(srid)d), longitude "
                  "first: leave the CRS out or ask for EPSG:%(srid)d.")
                % {"format": fmt.label, "srid": fmt.fixed_srid})
        return fmt.fixed_srid
    srid = srid_of(crs) if crs is not None else STORAGE_SRID
    if srid not in EXPORT_SRIDS:
        raise UnsupportedExportCRS(
            _("Exports are not made in EPSG:%(srid)d; choose EPSG:3006, a local zone "
              "EPSG:3007 to EPSG:3018, RT 90 (EPSG:3021) or WGS 84 (EPSG:4326).")
            % {"srid": srid})
    return srid


def layer_export(layer: str, *, file_format: str, out: str | Path,
                 crs: str | int | None = None, municipality: str | None = None,
                 bbox: Sequence[float] | None = None, polygon: Any = None,
                 bbox_crs: str | int | None = None, chunk_rows: int = CHUNK_ROWS,
                 progress: Progress | None = None, user: Any = None,
                 layer_filters: dict[str, Any] | None = None) -> ExportResult:
    """Export a cached layer to a file, streamed a chunk at a time.

    ``crs`` is the CRS written (EPSG:3006 by default; GeoJSON is always WGS 84);
    ``municipality`` a code or name; ``bbox`` (minx, miny, maxx, maxy) or ``polygon`` (a
    shapely geometry) are in ``bbox_crs`` (EPSG:3006 by default) and take the features
    that intersect them. The file appears whole at ``out`` or not at all.
    ``progress(written, total)`` is called as chunks are written. A layer another app
    registered is made for ``user`` (what it carries may depend on who asks) and
    ``layer_filters`` (its own, such as a case's status).
    """
    fmt = format_get(file_format)
    srid = export_srid(fmt, crs)
    area_srid = srid_of(bbox_crs) if bbox_crs is not None else STORAGE_SRID
    where = export_filter(municipality=municipality, bbox=bbox, polygon=polygon,
                          srid=area_srid)
    spec = layer_get(layer, user=user,
                     filters={**(layer_filters or {}), "kommunkod": where.kommunkod})
    target = Path(out)
    if not target.parent.is_dir():
        raise ExportError(_("The folder %(folder)s does not exist.")
                          % {"folder": str(target.parent)})
    if target.is_dir():
        raise ExportError(_("%(path)s is a folder: give the name of the file to write.")
                          % {"path": str(target)})
    report = progress or (lambda done, total: None)
    started = time.monotonic()
    # Written beside the target and moved into place at the end: a failed export leaves
    # no half-written file, and a reader of the old file never sees a partial one.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as tmp, \
            snapshot() as snapshot_id:
        total = layer_count(spec, where)
        report(0, total)
        written = 0

        def counted() -> Iterator[pa.RecordBatch]:
            nonlocal written
            for batch in layer_batches(spec, where, srid=srid, chunk_rows=chunk_rows,
                                       snapshot_id=snapshot_id, bounds=fmt.bounds):
                yield batch  # returns when the writer asks for the next one
                written += batch.num_rows
                report(written, total)

        def copied(done: int) -> None:
            nonlocal written
            written = done
            report(written, total)

        made = None
        source = (copy_source(spec, where, srid=srid, snapshot_id=snapshot_id)
                  if fmt.write_copy is not None else None)
        if source is not None and fmt.write_copy is not None:
            made = fmt.write_copy(source, layer=spec, srid=srid, directory=Path(tmp),
                                  expected=total or 0, progress=copied)
        if made is None:
            stream = pa.RecordBatchReader.from_batches(spec.schema(fmt.bounds), counted())
            made = fmt.write(stream, layer=spec, srid=srid, directory=Path(tmp))
        sidecars = []
        for extra in sorted(Path(tmp).iterdir()):
            if extra.is_file() and extra != made and extra.stem == made.stem:
                sidecars.append(target.with_suffix(extra.suffix))
                os.replace(extra, sidecars[-1])
        os.replace(made, target)
    return ExportResult(spec.name, fmt.name, fmt.label, srid, target, tuple(sidecars),
                        written, time.monotonic() - started, where.kommunkod)
