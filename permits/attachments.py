"""Checks of uploaded attachments: PDF by content, size and count limits.

A PDF is a program for its parser: a huge array, a page tree thousands of levels deep or
a million pages wide, a stream that inflates to gigabytes. The check reads the file within
named limits (``LOVKARTA_PDF_MAX_PAGES``, ``…_MAX_OBJECTS``, ``…_MAX_ARRAY_ITEMS``,
``…_MAX_DEPTH``, ``…_MAX_STREAM_BYTES``), handed to pypdf's own configuration, so that a
file built to exhaust it is refused with a message naming them instead of a 500.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from permits.exceptions import InvalidAttachment

# The largest object count a trailer or cross-reference stream declares.
_SIZE = re.compile(rb"/Size\s+(\d{1,12})")


@dataclass(frozen=True)
class CheckedPDF:
    """An upload that is a readable PDF."""

    size: int
    sha256: str
    pages: int


def check_pdf(upload: UploadedFile, already: int) -> CheckedPDF:
    """Accept a readable PDF within the limits; raise InvalidAttachment saying why not."""
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
    # A PDF ends with %%EOF; without it the file was cut short (pypdf would patch it up).
    if b"%%EOF" not in data[-1024:]:
        raise _damaged(name)
    pages = _pages(data, name)
    if pages == 0:
        raise InvalidAttachment(_("%(name)s has no pages.") % {"name": name})
    return CheckedPDF(size=len(data), sha256=hashlib.sha256(data).hexdigest(), pages=pages)


def _pages(data: bytes, name: str) -> int:
    """Open the PDF within the limits, read its page tree and page contents; count pages."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError, PyPdfError

    max_objects = settings.LOVKARTA_PDF_MAX_OBJECTS
    declared = max((int(m) for m in _SIZE.findall(data)), default=0)
    if data.count(b"endobj") > max_objects or declared > max_objects:
        raise _too_complex(name)
    try:
        with apply_configuration(**_pypdf_limits()):
            reader = PdfReader(io.BytesIO(data), strict=False,
                               xref_stream_maximum_entries=max_objects)
            if reader.is_encrypted:
                raise InvalidAttachment(
                    _("%(name)s is password protected. Upload it without a password.")
                    % {"name": name})
            # The count the document declares, then the pages its tree really holds.
            _check_page_count(reader.root_object["/Pages"].get("/Count"), name)
            pages = len(reader.pages)
            _check_page_count(pages, name)
            _read_contents(reader.pages, name)
    # A limit of pypdf's (set from ours above), or nesting deeper than Python follows.
    except (LimitReachedError, RecursionError) as exc:
        raise _too_complex(name) from exc
    # pypdf reports a damaged file with its own errors, and some with builtin ones.
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            NotImplementedError) as exc:
        raise _damaged(name) from exc
    return pages


def _check_page_count(pages: object, name: str) -> None:
    if isinstance(pages, int) and pages > settings.LOVKARTA_PDF_MAX_PAGES:
        raise InvalidAttachment(
            _("%(name)s has %(pages)d pages; at most %(limit)d are accepted. Split it into "
              "several files.")
            % {"name": name, "pages": pages, "limit": settings.LOVKARTA_PDF_MAX_PAGES})


def _read_contents(pages: Any, name: str) -> None:
    """Decode every page's content streams, within LOVKARTA_PDF_MAX_STREAM_BYTES in all."""
    from pypdf.filters import decode_stream_data
    from pypdf.generic import ArrayObject, StreamObject

    budget = settings.LOVKARTA_PDF_MAX_STREAM_BYTES
    for page in pages:
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else None
        streams = contents if isinstance(contents, ArrayObject) else [contents]
        for stream in streams:
            stream = stream.get_object() if stream is not None else None
            if isinstance(stream, StreamObject):
                # Decoded without pypdf's cache, so only one stream is held at a time.
                budget -= len(decode_stream_data(stream))
                if budget < 0:
                    raise _too_complex(name)


def _pypdf_limits() -> dict[str, int]:
    """pypdf's configuration from our settings."""
    items = settings.LOVKARTA_PDF_MAX_ARRAY_ITEMS
    depth = settings.LOVKARTA_PDF_MAX_DEPTH
    stream = settings.LOVKARTA_PDF_MAX_STREAM_BYTES
    return {
        "array_maximum_element_count": items,
        "dictionary_maximum_element_count": items,
        # Leaves and the /Pages nodes above them; a balanced tree has fewer nodes than leaves.
        "page_tree_maximum_entries": 2 * settings.LOVKARTA_PDF_MAX_PAGES + 16,
        "page_tree_maximum_depth": depth,
        "outline_maximum_depth": depth,
        "form_fields_maximum_depth": depth,
        "named_destinations_maximum_depth": depth,
        **{key: stream for key in (
            "zlib_maximum_output_length", "lzw_maximum_output_length",
            "run_length_maximum_output_length", "array_based_stream_maximum_output_length",
            "brotli_maximum_output_length", "jbig2_maximum_output_length")},
    }


def _damaged(name: str) -> InvalidAttachment:
    return InvalidAttachment(
        _("%(name)s could not be read as a PDF. It may be damaged.") % {"name": name})


def _too_complex(name: str) -> InvalidAttachment:
    return InvalidAttachment(
        _("%(name)s is built in a way we cannot check. A PDF may have at most %(pages)d "
          "pages, %(objects)d objects, %(items)d entries in one array or dictionary, "
          "%(depth)d levels of nesting and %(mb)d MB of page content. Save or print it as "
          "a new PDF and try again.") % {
            "name": name, "pages": settings.LOVKARTA_PDF_MAX_PAGES,
            "objects": settings.LOVKARTA_PDF_MAX_OBJECTS,
            "items": settings.LOVKARTA_PDF_MAX_ARRAY_ITEMS,
            "depth": settings.LOVKARTA_PDF_MAX_DEPTH,
            "mb": settings.LOVKARTA_PDF_MAX_STREAM_BYTES // (1024 * 1024)})
