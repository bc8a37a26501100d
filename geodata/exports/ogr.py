"""The OGR writer: GDAL formats written through pyogrio's Arrow path.

One ``write_arrow`` call consumes the whole stream of record batches, batch by batch;
measured at 1,000,000 parcels from PostGIS, 2.6x ogr2ogr's features a second to
GeoPackage. FlatGeobuf is encoded by ``fgbwrite`` instead (GDAL writes only a layer it
does not cover, without an index, which ``fgbindex`` adds).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from geodata.exports.layers import Layer

# A writer writes the stream into ``directory`` and returns the file it made; files of the
# same name with other suffixes beside it (a CSV's .prj and .csvt) belong to it.
Writer = Callable[..., Path]


def ogr_write(batches: pa.RecordBatchReader, *, layer: Layer, srid: int, directory: Path,
              driver: str, suffix: str, layer_options: dict[str, str] | None = None,
              config: dict[str, str] | None = None) -> Path:
    """Write the stream with a GDAL driver; the file names its CRS as ``EPSG:srid``.

    ``config`` holds GDAL configuration options set while the file is written.
    """
    import pyogrio  # imports geopandas and pandas: a quarter of a second, paid when used

    path = directory / f"{layer.name}{suffix}"
    # pyogrio gives the layer's CRS the x/y data axis order (easting or longitude first),
    # the order of our coordinates, whatever the authority's order.
    with gdal_config(config or {}):
        pyogrio.write_arrow(batches, path, layer=layer.name, driver=driver,
                            geometry_name="geom", geometry_type=layer.geometry_type,
                            crs=f"EPSG:{srid}", layer_options=layer_options or {})
    return path


@contextlib.contextmanager
def gdal_config(options: dict[str, str]) -> Iterator[None]:
    """Set GDAL configuration options for a while (they are the process's: GDAL has no
    per-call ones for these), then put back what was there."""
    if not options:
        yield
        return
    import pyogrio

    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def ogr_writer(driver: str, suffix: str, *, config: dict[str, str] | None = None,
               **layer_options: str) -> Writer:
    """Return a writer for one GDAL driver with these layer creation options (and GDAL
    configuration options set while it writes)."""
    def write(batches: pa.RecordBatchReader, *, layer: Layer, srid: int,
              directory: Path) -> Path:
        return ogr_write(batches, layer=layer, srid=srid, directory=directory, driver=driver,
                         suffix=suffix, layer_options=layer_options, config=config)
    return write
