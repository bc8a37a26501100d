"""The OGR writer: GDAL formats written through pyogrio's Arrow path.

One ``write_arrow`` call consumes the whole stream of record batches, batch by batch, so a
format that cannot be appended to (FlatGeobuf builds its index when it is closed) streams
as well as one that can; measured here at several times ogr2ogr's features a second.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyogrio

from geodata.exports.layers import Layer

# A writer writes the stream into ``directory`` and returns the file it made; files of the
# same name with other suffixes beside it (a CSV's .prj and .csvt) belong to it.
Writer = Callable[..., Path]


def ogr_write(batches: pa.RecordBatchReader, *, layer: Layer, srid: int, directory: Path,
              driver: str, suffix: str, layer_options: dict[str, str] | None = None) -> Path:
    """Write the stream with a GDAL driver; the file names its CRS as ``EPSG:srid``."""
    path = directory / f"{layer.name}{suffix}"
    # pyogrio gives the layer's CRS the x/y data axis order (easting or longitude first),
    # the order of our coordinates, whatever the authority's order.
    pyogrio.write_arrow(batches, path, layer=layer.name, driver=driver, geometry_name="geom",
                        geometry_type=layer.geometry_type, crs=f"EPSG:{srid}",
                        layer_options=layer_options or {})
    return path


def ogr_writer(driver: str, suffix: str, **layer_options: str) -> Writer:
    """Return a writer for one GDAL driver with these layer creation options."""
    def write(batches: pa.RecordBatchReader, *, layer: Layer, srid: int,
              directory: Path) -> Path:
        return ogr_write(batches, layer=layer, srid=srid, directory=directory, driver=driver,
                         suffix=suffix, layer_options=layer_options)
    return write
