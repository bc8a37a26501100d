"""The export formats: one writer per format family, each fed one stream of record batches.

OGR formats (GeoPackage, GeoJSON, CSV, and Shapefile inside a zip) are written by GDAL
through pyogrio's Arrow path (``ogr.py``); FlatGeobuf by our own encoder and index
(``fgbwrite.py``, ``fgbindex.py``); GeoParquet by pyarrow (``parquet.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from geodata.exports.errors import UnknownFormat
from geodata.exports.fgbindex import write_flatgeobuf, write_flatgeobuf_copy
from geodata.exports.ogr import Writer, ogr_writer
from geodata.exports.parquet import write_geoparquet
from geodata.exports.shapefile import write_shapefile_zip


@dataclass(frozen=True)
class Format:
    """An export format: its name on the command line, what it is called, how it is made."""

    name: str
    label: str
    suffix: str
    write: Writer
    # The one CRS the format allows (GeoJSON: RFC 7946 says WGS 84, longitude first).
    fixed_srid: int | None = None
    aliases: tuple[str, ...] = field(default=())
    # Whether the writer is given each geometry's box after it (BOUNDS_COLUMNS).
    bounds: bool = False
    # A writer that runs the layer's binary COPY itself (a pgcopy.CopySource), where the
    # export reads PostgreSQL in a snapshot; it returns None where it cannot, and the
    # stream goes to ``write``.
    write_copy: Callable[..., Path | None] | None = None


FORMATS: dict[str, Format] = {f.name: f for f in (
    # SQLite need not wait for the disk at each commit: the file is written beside the
    # target and moved into place whole, and a crash leaves only the temporary file.
    Format("gpkg", "GeoPackage", ".gpkg",
           ogr_writer("GPKG", ".gpkg", config={"OGR_SQLITE_SYNCHRONOUS": "OFF"}),
           aliases=("geopackage",)),
    # RFC 7946: WGS 84 lon/lat, counter-clockwise outer rings. Nine decimals (0.1 mm) rather
    # than GDAL's seven for RFC 7946 (about 1 cm): a corner must survive the round trip to
    # SWEREF 99 TM to the millimetre.
    Format("geojson", "GeoJSON (RFC 7946)", ".geojson",
           ogr_writer("GeoJSON", ".geojson", RFC7946="YES", COORDINATE_PRECISION="9"),
           fixed_srid=4326, aliases=("json",)),
    # Encoded from PostgreSQL's COPY by fgbcopy (compiled), or from the stream by
    # fgbwrite, with its spatial index (a packed Hilbert R-tree) built by fgbindex over
    # the features' boxes: faster than GDAL's own (see fgbindex.py).
    Format("fgb", "FlatGeobuf", ".fgb", write_flatgeobuf, aliases=("flatgeobuf",),
           bounds=True, write_copy=write_flatgeobuf_copy),
    Format("parquet", "GeoParquet", ".parquet", write_geoparquet, aliases=("geoparquet",)),
    Format("shp", "ESRI Shapefile (zip)", ".zip", write_shapefile_zip,
           aliases=("shapefile",)),
    # The geometry as WKT in a column named WKT (what GDAL and QGIS look for); the CRS in a
    # .prj and the column types in a .csvt beside the file (GeoCSV); a byte order mark so
    # that Excel reads å, ä and ö as UTF-8.
    Format("csv", "CSV (WKT)", ".csv",
           ogr_writer("CSV", ".csv", GEOMETRY="AS_WKT", CREATE_CSVT="YES", WRITE_BOM="YES")),
)}


def format_get(name: str) -> Format:
    """Return the format of that name or alias; raise UnknownFormat (400) otherwise."""
    wanted = name.strip().lower().lstrip(".")
    for fmt in FORMATS.values():
        if wanted == fmt.name or wanted in fmt.aliases:
            return fmt
    raise UnknownFormat(_("There is no export format %(format)s; choose one of %(formats)s.")
                        % {"format": repr(name), "formats": ", ".join(FORMATS)})
