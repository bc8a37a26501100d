"""The GeoParquet writer (version 1.1): record batches straight into a Parquet file.

The ``geo`` metadata names the geometry column, its WKB encoding, its geometry type, the
CRS as PROJJSON (EPSG code included) and the bbox of all it holds, which is only known at
the end: it is added to the file's footer when the writer closes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from geodata.exports.layers import Layer

GEOPARQUET_VERSION = "1.1.0"


def geo_metadata(layer: Layer, srid: int, bbox: list[float] | None) -> dict[str, Any]:
    """Return the GeoParquet ``geo`` metadata of a layer's file."""
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": [layer.geometry_type],
                              "crs": CRS.from_epsg(srid).to_json_dict()}
    if bbox is not None:
        column["bbox"] = bbox
    return {"version": GEOPARQUET_VERSION, "primary_column": "geom",
            "columns": {"geom": column}}


def write_geoparquet(batches: pa.RecordBatchReader, *, layer: Layer, srid: int,
                     directory: Path) -> Path:
    """Write the stream as GeoParquet, one row group a batch."""
    path = directory / f"{layer.name}.parquet"
    bounds = [math.inf, math.inf, -math.inf, -math.inf]
    with pq.ParquetWriter(path, batches.schema, compression="zstd") as writer:
        for batch in batches:
            if batch.num_rows:
                wkb = batch.column("geom").to_numpy(zero_copy_only=False)
                x0, y0, x1, y1 = shapely.total_bounds(shapely.from_wkb(wkb))
                bounds = [min(bounds[0], x0), min(bounds[1], y0), max(bounds[2], x1),
                          max(bounds[3], y1)]
            writer.write_batch(batch)
        known = all(math.isfinite(v) for v in bounds)
        writer.add_key_value_metadata(
            {"geo": json.dumps(geo_metadata(layer, srid, bounds if known else None))})
    return path
