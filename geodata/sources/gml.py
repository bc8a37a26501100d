"""Parse GML feature collections safely (no entities, no DTD, no network)."""

from __future__ import annotations

from collections.abc import Iterator

import shapely
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon

GML_NAMESPACES = ("http://www.opengis.net/gml/3.2", "http://www.opengis.net/gml")
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


def _gml(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element.iter() if isinstance(c.tag, str)
            and etree.QName(c).localname == local and etree.QName(c).namespace in GML_NAMESPACES]


def _ring(element: etree._Element) -> list[tuple[float, float]]:
    pos_list = _gml(element, "posList")
    if pos_list:
        values = [float(v) for v in (pos_list[0].text or "").split()]
        dim = int(pos_list[0].get("srsDimension") or 2)
        return [(values[i], values[i + 1]) for i in range(0, len(values) - dim + 1, dim)]
    coordinates = _gml(element, "coordinates")
    if coordinates:
        return [tuple(float(v) for v in pair.split(",")[:2])  # type: ignore[misc]
                for pair in (coordinates[0].text or "").split()]
    positions = _gml(element, "pos")
    return [tuple(float(v) for v in (p.text or "").split()[:2]) for p in positions]  # type: ignore[misc]


def _simple_polygon(element: etree._Element) -> Polygon | None:
    """Read a gml:Polygon made of linear rings; None if it holds curves."""
    if _gml(element, "Arc") or _gml(element, "Curve") or _gml(element, "Ring"):
        return None
    exterior = _gml(element, "exterior") or _gml(element, "outerBoundaryIs")
    if not exterior:
        return None
    holes = _gml(element, "interior") + _gml(element, "innerBoundaryIs")
    return Polygon(_ring(exterior[0]), [_ring(h) for h in holes])


def geometry_from_gml(element: etree._Element) -> shapely.Geometry:
    """Return a shapely geometry for a GML geometry element, axes as written."""
    local = etree.QName(element).localname
    if local == "Polygon":
        polygon = _simple_polygon(element)
        if polygon is not None:
            return polygon
    elif local in ("MultiSurface", "MultiPolygon"):
        polygons = [_simple_polygon(p) for p in _gml(element, "Polygon")]
        if polygons and all(p is not None for p in polygons):
            return MultiPolygon(polygons)  # type: ignore[arg-type]
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
        if etree.QName(name).localname in ("id", "fid"):
            fid = value
    properties: dict[str, str] = {}
    geometry = None
    for child in feature:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace in GML_NAMESPACES and qname.localname == "boundedBy":
            continue
        grandchildren = [g for g in child if isinstance(g.tag, str)]
        if grandchildren:
            if geometry is None and etree.QName(grandchildren[0]).namespace in GML_NAMESPACES:
                geometry = grandchildren[0]
            continue
        properties[qname.localname] = (child.text or "").strip()
    return fid, properties, geometry
