"""The one PDF helper: embedded fonts, styles, and PDF/A-2b for what is archived.

Swedish e-archives take PDF/A (Riksarkivet's common specifications). A decision is
written as PDF/A-2b (ISO 19005-2, level B): every font embedded (DejaVu, from Debian's
fonts-dejavu-core; ReportLab's standard fonts are not embedded), images without
transparency, an sRGB output intent, and XMP metadata (title, author, subject, language,
dates, ``pdfaid:part`` 2 and ``pdfaid:conformance`` B) that agrees with the document
information dictionary. ReportLab writes the page, pikepdf finishes the file.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from pathlib import Path

import pikepdf
from PIL import Image as PILImage
from PIL import ImageCms
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
PDFA_PART, PDFA_CONFORMANCE = "2", "B"


@cache
def fonts() -> tuple[str, str]:
    """Register the embedded fonts once; return the regular and bold names."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return FONT, BOLD


def styles() -> StyleSheet1:
    """ReportLab's sample styles, in the embedded fonts."""
    regular, bold = fonts()
    sheet = getSampleStyleSheet()
    for name in sheet.byName:
        style = sheet[name]
        if isinstance(style, ParagraphStyle):
            style.fontName = bold if name.startswith(("Heading", "Title")) else regular
    return sheet


def opaque_png(png: bytes) -> io.BytesIO:
    """A PNG flattened onto white (no alpha channel), for an image in PDF/A."""
    with PILImage.open(io.BytesIO(png)) as image:
        flat = PILImage.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="PNG")
    out.seek(0)
    return out


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile for the output intent (made by LittleCMS through Pillow)."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def finish_pdfa(raw: bytes, *, title: str, author: str, subject: str, lang: str,
                created: datetime) -> bytes:
    """Make a ReportLab PDF a PDF/A-2b file: output intent, XMP metadata, language."""
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        pdf.docinfo["/Title"] = title
        pdf.docinfo["/Author"] = author
        pdf.docinfo["/Subject"] = subject
        pdf.docinfo["/Creator"] = "Lovkarta"
        if "/Trapped" in pdf.docinfo:  # no XMP equivalent in PDF/A-2b's own schemas
            del pdf.docinfo["/Trapped"]
        pdf.Root.Lang = pikepdf.String(lang)
        profile = pdf.make_stream(srgb_profile())
        profile.N = 3
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
            Info=pikepdf.String("sRGB IEC61966-2.1"), DestOutputProfile=profile)])
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)
            meta["pdfaid:part"] = PDFA_PART
            meta["pdfaid:conformance"] = PDFA_CONFORMANCE
            meta["dc:language"] = [lang]
            meta["xmp:CreateDate"] = created.isoformat()
            meta["xmp:ModifyDate"] = created.isoformat()
            meta["xmp:MetadataDate"] = created.isoformat()
            meta["xmp:CreatorTool"] = "Lovkarta"
        # The information dictionary's dates as the XMP has them (ISO 19005-2, 6.6.3).
        stamp = created.strftime("D:%Y%m%d%H%M%S") + _offset(created)
        pdf.docinfo["/CreationDate"] = stamp
        pdf.docinfo["/ModDate"] = stamp
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    return out.getvalue()


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"
