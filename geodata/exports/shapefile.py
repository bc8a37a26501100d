"""The Shapefile writer: a zip of .shp, .shx, .dbf, .prj and .cpg, and the field names.

A dBase field name holds at most 10 characters: longer names are cut to unique short ones
(``registerenhetsreferens`` becomes ``registeren``), and ``fields.csv`` in the zip gives
each short name beside the full one. Text is UTF-8, which the .cpg says; a text field
holds at most 254 bytes (dBase's limit: GDAL cuts a longer value and warns), so a layer
with longer texts is better exported as GeoPackage.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from geodata.exports.layers import Layer
from geodata.exports.ogr import ogr_write

DBF_NAME_MAX = 10
MEMBERS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
FIELDS_FILE = "fields.csv"


def short_names(names: Sequence[str]) -> dict[str, str]:
    """Map each name to a unique one of at most 10 characters (case-insensitively unique,
    as dBase compares them); names that fit are kept."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for name in names:
        short, n = name[:DBF_NAME_MAX], 0
        while short.lower() in taken:
            n += 1
            suffix = f"_{n}"
            short = name[:DBF_NAME_MAX - len(suffix)] + suffix
        taken.add(short.lower())
        mapping[name] = short
    return mapping


def _renamed(batches: Iterable[pa.RecordBatch], names: list[str]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.rename_columns(names)


def write_shapefile_zip(batches: pa.RecordBatchReader, *, layer: Layer, srid: int,
                        directory: Path) -> Path:
    """Write the stream as a Shapefile and pack it with its field names into a zip."""
    fields = [f.name for f in batches.schema if f.name != "geom"]
    mapping = short_names(fields)
    names = [mapping.get(f.name, f.name) for f in batches.schema]
    schema = pa.schema([f.with_name(n) for f, n in zip(batches.schema, names, strict=True)])
    renamed = pa.RecordBatchReader.from_batches(schema, _renamed(batches, names))
    work = directory / "shapefile"
    work.mkdir()
    ogr_write(renamed, layer=layer, srid=srid, directory=work, driver="ESRI Shapefile",
              suffix=".shp", layer_options={"ENCODING": "UTF-8"})
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["shapefile_field", "field"])
    writer.writerows((mapping[f], f) for f in fields)
    path = directory / f"{layer.name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for suffix in MEMBERS:
            archive.write(work / f"{layer.name}{suffix}", f"{layer.name}{suffix}")
        archive.writestr(FIELDS_FILE, table.getvalue())
    return path
