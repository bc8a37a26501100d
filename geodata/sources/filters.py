"""Attribute filters of a source: ``field=value`` pairs, all of which must hold.

Written by GIS staff as ``kommunkod=2281;objekttyp=Fastighet``. Sent to WFS as an FES
filter and to OGC API Features as CQL2 text, and checked again on what comes back, since
not every server applies them (MapServer 8.0's OGC API ignores them).
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")

Filters = tuple[tuple[str, str], ...]


class FilterError(ValueError):
    """A filter that cannot be read."""


def parse_filters(text: str) -> Filters:
    """Read ``field=value;field=value``; raise FilterError with the reason."""
    pairs = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        field, sep, value = part.partition("=")
        field, value = field.strip(), value.strip()
        if not sep or not _FIELD.match(field):
            raise FilterError(f"{part!r} is not field=value")
        pairs.append((field, value))
    return tuple(pairs)


def fes_filter(filters: Filters, version: str, bbox_xml: str = "") -> str:
    """Return an FES 2.0 (WFS 2.0) or OGC Filter 1.1 (WFS 1.1) document."""
    if version.startswith("2"):
        ns, ref = 'xmlns:fes="http://www.opengis.net/fes/2.0"', "fes:ValueReference"
        prefix = "fes"
    else:
        ns, ref, prefix = 'xmlns:ogc="http://www.opengis.net/ogc"', "ogc:PropertyName", "ogc"
    terms = [f"<{prefix}:PropertyIsEqualTo><{ref}>{escape(f)}</{ref}>"
             f"<{prefix}:Literal>{escape(v)}</{prefix}:Literal></{prefix}:PropertyIsEqualTo>"
             for f, v in filters]
    if bbox_xml:
        terms.append(bbox_xml)
    body = terms[0] if len(terms) == 1 else f"<{prefix}:And>{''.join(terms)}</{prefix}:And>"
    return f'<{prefix}:Filter {ns} xmlns:gml="http://www.opengis.net/gml/3.2">{body}' \
           f"</{prefix}:Filter>"


def cql2_text(filters: Filters) -> str:
    """Return the filters as CQL2 text (OGC API Features Part 3)."""
    return " AND ".join(f"\"{f}\" = '{v.replace(chr(39), chr(39) * 2)}'" for f, v in filters)


def matches(properties: dict[str, Any], filters: Filters) -> bool:
    """Return True if the properties hold every filter (compared as text)."""
    return all(str(properties.get(f, "")) == v for f, v in filters)
