"""Parse GML feature collections safely (no entities, no DTD, no network)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from lxml import etree
from shapely.geometry import MultiPolygon, Point, Polygon

GML_NAMESPACES = ("http://www.opengis.net/gml/3.2", "http://www.opengis.net/gml")
GML_TAG_NAMESPACES = tuple(f"{{{ns}}}" for ns in GML_NAMESPACES)
OWS_NAMESPACES = ("http://www.opengis.net/ows/1.1", "http://www.opengis.net/ows",
                  "http://www.opengis.net/ogc")


class GMLError(ValueError):
    """The document is not a usable GML feature collection."""


def secure_parser() -> etree.XMLParser:
    """Return an XML parser that expands no entities and loads nothing."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def parse_document(content: bytes) -> etree._Element:
    """Parse XML bytes, refusing DTDs (the door to XXE and entity bombs)."""
    # A DTD must come before the root element: refuse it before the parser sees it.
    if b"<!DOCTYPE" in content[:4096]:
        raise GMLError("XML with a document type declaration is refused")
    try:
        root = etree.fromstring(content, parser=secure_parser())  # noqa: S320
    except etree.XMLSyntaxError as exc:
        raise GMLError(f"not well-formed XML: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise GMLError("XML with a document type declaration is refused")
    return root


def exception_text(root: etree._Element) -> str | None:
    """Return the message of an OGC exception report, or None if it is not one."""
    local = etree.QName(root).localname
    if local not in ("ExceptionReport", "ServiceExceptionReport"):
        return None
    texts = [t.strip() for t in root.itertext() if t.strip()]
    codes = [e.get("exceptionCode") or e.get("code") for e in root.iter()
             if etree.QName(e).localname in ("Exception", "ServiceException")]
    code = next((c for c in codes if c), "")
    return f"{code}: {' '.join(texts)}".strip(": ") or "exception report"


def capabilities_root(content: bytes, source: str, what: str,
                      roots: tuple[str, ...]) -> etree._Element:
    """Parse a service's capabilities safely; raise SourceResponseError naming ``source``
    if they are unreadable, an exception report, or not one of ``roots``."""
    from geodata.errors import SourceResponseError

    try:
        root = parse_document(content)
    except GMLError as exc:
        raise SourceResponseError(source, f"unreadable {what} capabilities: {exc}") from exc
    error = exception_text(root)
    if error:
        raise SourceResponseError(source, f"the server reported an error: {error}")
    if etree.QName(root).localname not in roots:
        raise SourceResponseError(source, f"expected {what} capabilities, got "
                                          f"{etree.QName(root).localname}")
    return root


def _namespace(element: etree._Element) -> str:
    tag = element.tag
    return tag[:tag.index("}") + 1] if isinstance(tag, str) and tag.startswith("{") else ""


def _ring(ring: etree._Element, ns: str) -> np.ndarray | None:
    """Return the x/y (as written) of a linear ring, or None for a curve ring."""
    linear = ring.find(f"{ns}LinearRing")
    if linear is None:
        return None  # gml:Ring of curves: GDAL linearises those
    pos_list = linear.find(f"{ns}posList")
    if pos_list is not None:
        dim = int(pos_list.get("srsDimension") or 2)
        values = np.array((pos_list.text or "").split(), dtype=float)
        return values.reshape(-1, dim)[:, :2]
    coordinates = linear.find(f"{ns}coordinates")
    if coordinates is not None:  # GML 2
        return np.array([pair.split(",")[:2] for pair in (coordinates.text or "").split()],
                        dtype=float)
    return np.array([(p.text or "").split()[:2] for p in linear.findall(f"{ns}pos")],
                    dtype=float)


def _simple_polygon(element: etree._Element, ns: str) -> Polygon | None:
    """Read a gml:Polygon made of linear rings; None if it holds curves."""
    exterior = element.find(f"{ns}exterior")
    if exterior is None:
        exterior = element.find(f"{ns}outerBoundaryIs")
    if exterior is None:
        return None
    shell = _ring(exterior, ns)
    holes = [_ring(h, ns) for h in (element.findall(f"{ns}interior")
                                    + element.findall(f"{ns}innerBoundaryIs"))]
    if shell is None or any(h is None for h in holes):
        return None
    return Polygon(shell, holes)


def geometry_from_gml(element: etree._Element) -> shapely.Geometry:
    """Return a shapely geometry for a GML geometry element, axes as written."""
    ns = _namespace(element)
    local = element.tag[len(ns):]
    if ns in GML_TAG_NAMESPACES:
        if local == "Polygon":
            polygon = _simple_polygon(element, ns)
            if polygon is not None:
                return polygon
        elif local in ("MultiSurface", "MultiPolygon"):
            polygons = [_simple_polygon(p, ns) for p in element.iter(f"{ns}Polygon")]
            if polygons and all(p is not None for p in polygons):
                return MultiPolygon(polygons)  # type: ignore[arg-type]
        elif local == "Point":
            pos = element.find(f"{ns}pos")
            if pos is not None:
                x, y = (float(v) for v in (pos.text or "").split()[:2])
                return Point(x, y)
    # Curves (gml:Arc, gml:Ring, ...) and other types: let GDAL read and linearise them.
    from django.contrib.gis.gdal import OGRGeometry
    from django.contrib.gis.gdal.error import GDALException

    # The CRS is ours to handle: GDAL is never given a srsName it might try to resolve.
    element = etree.fromstring(etree.tostring(element), parser=secure_parser())  # noqa: S320
    for node in element.iter():
        node.attrib.pop("srsName", None)
    try:
        ogr = OGRGeometry.from_gml(etree.tostring(element).decode())
    except GDALException as exc:
        raise GMLError(f"unreadable {local} geometry: {exc}") from exc
    if ogr.has_curve:
        ogr = ogr.get_linear_geometry()
    return shapely.from_wkb(bytes(ogr.wkb))


def iter_members(root: etree._Element) -> Iterator[etree._Element]:
    """Yield the feature elements of a WFS feature collection (1.1 and 2.0)."""
    for child in root:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local in ("member", "featureMember", "featureMembers"):
            for feature in child:
                if isinstance(feature.tag, str):
                    if etree.QName(feature).localname == "FeatureCollection":
                        yield from iter_members(feature)
                    else:
                        yield feature


def feature_parts(feature: etree._Element) -> tuple[str, dict[str, str], etree._Element | None]:
    """Split a feature element into its gml:id, simple properties and geometry element."""
    fid = ""
    for name, value in feature.attrib.items():
        if name.endswith(("}id", "}fid")) or name in ("id", "fid"):
            fid = value
    properties: dict[str, str] = {}
    geometry = None
    for child in feature:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[tag.index("}") + 1:] if tag.startswith("{") else tag
        if local == "boundedBy" and tag.startswith(GML_TAG_NAMESPACES):
            continue
        if len(child):
            first = child[0]
            if geometry is None and isinstance(first.tag, str) and first.tag.startswith(
                    GML_TAG_NAMESPACES):
                geometry = first
            continue
        properties[local] = (child.text or "").strip()
    return fid, properties, geometry


_SCHEMA_LOCATION = re.compile(rb'\sxsi:schemaLocation="[^"]*"')
_NUMBER_MATCHED = re.compile(rb'numberMatched="(\d+)"')


def sniff(content: bytes) -> tuple[str, int | None]:
    """Return the root element's local name and numberMatched, from the first bytes."""
    if b"<!DOCTYPE" in content[:4096]:
        raise GMLError("XML with a document type declaration is refused")
    head = content[:4096]
    match = re.search(rb"<(?!\?|!)(?:[\w.-]+:)?([\w.-]+)", head)
    matched = _NUMBER_MATCHED.search(head)
    return (match.group(1).decode() if match else ""), (
        int(matched.group(1)) if matched else None)


XS = "http://www.w3.org/2001/XMLSchema"


def schema_for_gdal(content: bytes) -> bytes | None:
    """Turn a DescribeFeatureType answer into an XSD that GDAL reads offline, or None.

    With the schema beside a page GDAL reads the page once instead of twice (without one
    it scans the whole page first to guess the fields), and a field missing from the first
    features is still known. Imports are removed (nothing is fetched) and every simple
    type becomes text, as GML_FIELDTYPES=ALWAYS_STRING does for guessed fields.
    """
    try:
        root = parse_document(content)
    except GMLError:
        return None
    if etree.QName(root).namespace != XS or etree.QName(root).localname != "schema":
        return None
    for node in list(root):
        if isinstance(node.tag, str) and etree.QName(node).localname in (
                "import", "include", "redefine"):
            root.remove(node)
    for node in root.iter(f"{{{XS}}}element", f"{{{XS}}}restriction"):
        attribute = "type" if node.tag == f"{{{XS}}}element" else "base"
        value = node.get(attribute)
        if not value:
            continue
        prefix, _, _local = value.rpartition(":")
        if node.nsmap.get(prefix or None) == XS:
            node.set(attribute, f"{prefix}:string" if prefix else "string")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def read_features_fast(content: bytes, xsd: Path | None = None, swap: bool = False
                       ) -> tuple[list[str], dict[str, list[str]], list[shapely.Geometry]] | None:
    """Read a GML feature collection with GDAL (C speed): the gml:ids, each property's
    values (a column) and the geometries, in feature order; None if it cannot.

    Coordinates are returned as written, or with the two axes exchanged if ``swap``:
    axis order is decided by the caller, through geodata.crs (never by GDAL's guess).
    Schemas are never fetched: the schemaLocation is removed first and GDAL is told not
    to download schemas. Given ``xsd`` (a file written from ``schema_for_gdal``), GDAL
    reads the page in one pass, from memory. Anything GDAL reads differently from us
    (curves, no geometry) sends the caller to the careful path.
    """
    from pyogrio.errors import DataLayerError, DataSourceError
    from pyogrio.raw import read

    head, rest = content[:8192], content[8192:]
    content = _SCHEMA_LOCATION.sub(b"", head, count=1) + rest
    options = {"XSD": str(xsd)} if xsd is not None else {}
    try:
        # Every value as text, as written: guessed types turn "0180" into 180 and "1" into
        # "1.0" (kommunkod, block, enhet...).
        with _gdal_options({"GML_DOWNLOAD_SCHEMA": "NO", "GML_SKIP_RESOLVE_ELEMS": "ALL",
                            "GML_FIELDTYPES": "ALWAYS_STRING",
                            "GDAL_HTTP_TIMEOUT": "1", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": "none"}):
            # WRITE_GFS=NO: a .gfs guessed from one page must not steer the next.
            meta, _fids, geoms, fields = read(content, SWAP_COORDINATES="YES" if swap else "NO",
                                              WRITE_GFS="NO", **options)
    except (DataSourceError, DataLayerError, RuntimeError, ValueError, IndexError):
        return None  # an empty page, or something only the careful path can read
    names = list(meta["fields"])
    if geoms is None or "gml_id" not in names:
        return None
    try:
        shapes = list(shapely.from_wkb(geoms))
    except shapely.errors.GEOSException:
        return None  # curve geometries: the careful path linearises them
    if any(g is None for g in shapes):
        return None
    columns = dict(zip(names, (_texts(column) for column in fields), strict=True))
    gml_ids = columns.pop("gml_id")
    return gml_ids, columns, shapes


def _texts(column: Any) -> list[str]:
    """Return a column's values as text ("" for none), as the careful path reads them."""
    if column.dtype != object:  # a typed column (from a schema GDAL did not take as text)
        return [str(v) for v in column.tolist()]
    values = column.tolist()
    if None in values:
        return ["" if v is None else str(v) for v in values]
    return values  # GDAL gives the text of every element as str


class _gdal_options:  # noqa: N801 (used as a context manager)
    """Set GDAL config options for a block and restore them after."""

    def __init__(self, options: dict[str, str]) -> None:
        self.options = options

    def __enter__(self) -> None:
        from pyogrio import get_gdal_config_option, set_gdal_config_options

        self.saved = {k: get_gdal_config_option(k) for k in self.options}
        set_gdal_config_options(self.options)

    def __exit__(self, *exc: object) -> None:
        from pyogrio import set_gdal_config_options

        set_gdal_config_options(self.saved)
