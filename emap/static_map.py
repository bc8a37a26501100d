"""A static situation map (PNG) of geometries over an optional background image.

For receipts and PDFs. It renders only: the caller fetches the background (a WMS GetMap
image of the same box) and passes it in.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import shapely
from PIL import Image, ImageDraw

PAPER = (246, 246, 240, 255)


@dataclass(frozen=True)
class Style:
    """How to draw one geometry."""

    outline: tuple[int, int, int]
    fill: tuple[int, int, int, int] | None = None
    width: int = 3


def render_png(box: tuple[float, float, float, float], size: tuple[int, int],
               layers: list[tuple[shapely.Geometry, Style]], background: bytes | None = None
               ) -> bytes:
    """Draw x/y geometries (in the box's CRS) into a PNG of ``size`` pixels."""
    width, height = size
    base = Image.new("RGBA", size, PAPER)
    if background:
        # A transparent background map lies on paper, not on black; an unreadable one
        # is left out.
        with contextlib.suppress(OSError):
            base = Image.alpha_composite(
                base, Image.open(io.BytesIO(background)).convert("RGBA").resize(size))
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    x0, y0, x1, y1 = box

    def pixel(coords: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [((x - x0) / (x1 - x0) * width, (y1 - y) / (y1 - y0) * height)
                for x, y, *_ in coords]

    for geom, style in layers:
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "Polygon":
                draw.polygon(pixel(list(part.exterior.coords)), fill=style.fill,
                             outline=style.outline, width=style.width)
            elif part.geom_type == "LineString":
                draw.line(pixel(list(part.coords)), fill=style.outline, width=style.width)
            elif part.geom_type == "Point":
                (px, py), = pixel([(part.x, part.y)])
                r = style.width * 2
                draw.ellipse((px - r, py - r, px + r, py + r), fill=style.outline)
    out = io.BytesIO()
    Image.alpha_composite(base, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()
