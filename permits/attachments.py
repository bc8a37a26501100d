"""Checks of uploaded attachments: PDF by content, size and count limits."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from permits.exceptions import InvalidAttachment


@dataclass(frozen=True)
class CheckedPDF:
    """An upload that is a readable PDF."""

    size: int
    sha256: str
    pages: int


def check_pdf(upload: UploadedFile, already: int) -> CheckedPDF:
    """Accept a readable PDF within the limits; raise InvalidAttachment saying why not."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    name = upload.name or "?"
    limit = settings.LOVKARTA_ATTACHMENT_MAX_BYTES
    if already >= settings.LOVKARTA_ATTACHMENT_MAX_COUNT:
        raise InvalidAttachment(_("An application may have at most %(count)d attachments.")
                                % {"count": settings.LOVKARTA_ATTACHMENT_MAX_COUNT})
    if upload.size is None or upload.size > limit:
        raise InvalidAttachment(
            _("%(name)s is larger than %(mb)d MB. Make the file smaller and try again.")
            % {"name": name, "mb": limit // (1024 * 1024)})
    if upload.size == 0:
        raise InvalidAttachment(_("%(name)s is empty.") % {"name": name})
    data = upload.read()
    upload.seek(0)
    # By content, not by name: a PDF starts with %PDF- and must open as one.
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise InvalidAttachment(
            _("%(name)s is not a PDF file. Save the document as PDF and try again.")
            % {"name": name})
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidAttachment(
                _("%(name)s is password protected. Upload it without a password.")
                % {"name": name})
        pages = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidAttachment(
            _("%(name)s could not be read as a PDF. It may be damaged.") % {"name": name}
        ) from exc
    if pages == 0:
        raise InvalidAttachment(_("%(name)s has no pages.") % {"name": name})
    return CheckedPDF(size=len(data), sha256=hashlib.sha256(data).hexdigest(), pages=pages)
