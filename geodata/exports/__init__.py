"""Exports of the cached layers: one writer per format family over one streamed reader.

``layer_export`` reads a layer of the cache in chunks (on PostgreSQL one binary COPY
decoded into Arrow columns, PostGIS transforming; elsewhere keyset-paged by primary key
and transformed here; the filters applied in SQL, geometries as WKB) and hands the stream
of Arrow record batches to the format's writer: GDAL through pyogrio's Arrow path for
GeoPackage, FlatGeobuf, GeoJSON, CSV and Shapefile, pyarrow for GeoParquet. Memory holds
about one chunk, whatever the layer's size.
"""

from geodata.exports.errors import (
    ExportError,
    InvalidArea,
    UnknownFormat,
    UnknownLayer,
    UnknownMunicipalityFilter,
    UnsupportedExportCRS,
)
from geodata.exports.export import EXPORT_SRIDS, ExportResult, export_srid, layer_export
from geodata.exports.filters import parse_bbox, parse_polygon
from geodata.exports.formats import FORMATS, format_get
from geodata.exports.layers import LAYERS, Column, Layer, layer_get, layer_names, register

__all__ = [
    "EXPORT_SRIDS", "FORMATS", "LAYERS", "Column", "ExportError", "ExportResult", "InvalidArea",
    "Layer", "UnknownFormat", "UnknownLayer", "UnknownMunicipalityFilter",
    "UnsupportedExportCRS", "export_srid", "format_get", "layer_export", "layer_get",
    "layer_names", "parse_bbox", "parse_polygon", "register",
]
