"""The PDF receipt of a submitted application, with a situation map."""

from __future__ import annotations

import io

import shapely
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from emap.static_map import Style, render_png
from geodata.sources.background import background_image
from permits.documents.pdf import styles as pdf_styles
from permits.maps import background_source
from permits.models import Application

MAP_SIZE = (1000, 700)
# A table row cannot break across pages, and one taller than a page stops ReportLab
# (LayoutError): long answers are split into rows of at most this many characters and
# lines, each far shorter than a page even in the widest glyphs.
ROW_CHARS, ROW_LINES = 800, 20


def situation_map(application: Application) -> bytes:
    """Return a PNG of the property and the drawn geometries over the background map."""
    shapes: list[tuple[shapely.Geometry, Style]] = []
    if application.parcel is not None:
        shapes.append((shapely.from_wkb(bytes(application.parcel.geom.wkb)),
                       Style(outline=(176, 0, 32), width=4)))
    if application.site is not None:
        shapes.append((shapely.from_wkb(bytes(application.site.wkb)),
                       Style(outline=(120, 60, 0), width=2)))
    for drawn in application.drawn.all():
        shapes.append((shapely.from_wkb(bytes(drawn.geom.wkb)),
                       Style(outline=(11, 79, 138), fill=(61, 139, 212, 110), width=3)))
    if application.location is not None:
        shapes.append((shapely.from_wkb(bytes(application.location.wkb)),
                       Style(outline=(0, 0, 0), width=3)))
    if not shapes:
        return render_png((0, 0, 1, 1), MAP_SIZE, [])
    minx, miny, maxx, maxy = shapely.union_all([g for g, _s in shapes]).bounds
    # A box of the map's proportions with a margin around what is drawn.
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = max(maxx - minx, (maxy - miny) * MAP_SIZE[0] / MAP_SIZE[1], 40) * 0.65
    half_h = half_w * MAP_SIZE[1] / MAP_SIZE[0]
    box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    source = background_source()
    background = background_image(source.protocol, source.url, source.layers, source.info,
                                  box, MAP_SIZE)
    return render_png(box, MAP_SIZE, shapes, background)


def receipt_pdf(application: Application) -> bytes:
    """Return the receipt: the answers, the attachments and the situation map."""
    styles = pdf_styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=_("Receipt %(number)s") % {
        "number": application.case_number}, author="Lovkarta", leftMargin=18 * mm,
        rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    when = timezone.localtime(application.submitted_at) if application.submitted_at else None
    facts = [
        (_("Case number"), application.case_number or "-"),
        (_("Submitted"), f"{when:%Y-%m-%d %H:%M}" if when else "-"),
        (_("Municipality"), application.municipality.name if application.municipality else "-"),
        (_("Property"), application.property_designation or _("not identified")),
        (_("Case type"), application.get_case_type_display()),
        (_("Measure"), application.get_measure_display()),
        (_("Description"), application.description),
        (_("Building area (m²)"), _num(application.building_area_m2)),
        (_("Height (m)"), _num(application.height_m)),
        (_("Number of floors"), _num(application.floors)),
        (_("Applicant"), application.contact_name or application.applicant.get_username()),
        (_("E-mail"), application.contact_email),
        (_("Telephone"), application.contact_phone or "-"),
    ]
    body = styles["BodyText"]
    rows: list[list[Paragraph]] = []
    rules = []  # a line below each fact, not between the rows of one
    for label, value in facts:
        for n, piece in enumerate(text_pieces(str(value))):
            rows.append([Paragraph(f"<b>{label}</b>" if n == 0 else "", body),
                         Paragraph(piece, body)])
        rules.append(("LINEBELOW", (0, len(rows) - 1), (-1, len(rows) - 1), 0.25,
                      colors.grey))
    table = Table(rows, colWidths=[50 * mm, 120 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *rules]))
    story = [Paragraph(_("Receipt: application %(number)s") % {
        "number": application.case_number}, styles["Title"]), table, Spacer(1, 6 * mm)]
    drawn = list(application.drawn.all())
    if drawn:
        story.append(Paragraph(_("Drawn on the map"), styles["Heading2"]))
        for item in drawn:
            size = (f"{item.area_m2} m²" if item.geom.geom_type.endswith("Polygon")
                    else f"{item.length_m} m")
            story.append(Paragraph(escape(f"{item.get_kind_display()}: {size}"), body))
    story.append(Paragraph(_("Attachments"), styles["Heading2"]))
    for attachment in application.attachments.all():
        story.append(Paragraph(escape(
            f"{attachment.get_kind_display()}: {attachment.original_name} "
            f"({attachment.pages} p, {attachment.size // 1024} kB)"), body))
    if not application.attachments.exists():
        story.append(Paragraph(_("None"), body))
    story += [Spacer(1, 4 * mm), Paragraph(_("Situation map"), styles["Heading2"]),
              Image(io.BytesIO(situation_map(application)), width=170 * mm,
                    height=170 * mm * MAP_SIZE[1] / MAP_SIZE[0])]
    doc.build(story)
    return out.getvalue()


def _num(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


def text_pieces(text: str) -> list[str]:
    """Split text into paragraph markup of at most ROW_CHARS characters and ROW_LINES lines.

    Lines are kept (a run of blank lines as one); a line longer than a piece is cut at a
    space where there is one.
    """
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        if not line.strip() and lines and not lines[-1].strip():
            continue
        while len(line) > ROW_CHARS:
            cut = line.rfind(" ", ROW_CHARS // 2, ROW_CHARS)
            cut = cut + 1 if cut > 0 else ROW_CHARS
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    pieces: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if pieces[-1] and (len(pieces[-1]) >= ROW_LINES or size + len(line) > ROW_CHARS):
            pieces.append([])
            size = 0
        pieces[-1].append(line)
        size += len(line)
    return ["<br/>".join(escape(line) for line in piece) for piece in pieces]


def escape(text: str) -> str:
    """Text for a ReportLab paragraph: markup characters escaped, lines kept."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\n", "<br/>")
