"""A corpus of hostile PDF files, each built to break or exhaust a PDF parser.

The upload check (``permits/attachments.py``) must refuse every one with a form error and
never fail with a 500. ``tests/permits/test_hostile_input.py`` posts each through the real
upload view; run this module to write the corpus to a directory and try other tools on it::

    .venv/bin/python -m tests.permits.hostile_pdfs var/hostile-pdfs

Every file is built here, byte by byte where a PDF library would refuse to write it, so
the corpus needs nothing downloaded and is the same on every run.
"""

from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Write numbered objects (1, 2, ...) as a PDF with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, root, trailer_extra, xref))
    return out.getvalue()


def stream(data: bytes, extra: bytes = b"") -> bytes:
    """A stream object's body, Flate-compressed."""
    packed = zlib.compress(data, 9)
    return (b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra)
            + packed + b"\nendstream")


def one_page(page: bytes = PAGE, *more: bytes) -> bytes:
    """A one-page PDF whose page object is ``page`` (object 3); ``more`` follow it."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, *more])


def valid() -> bytes:
    """A small, well-formed PDF with one page of text (the control)."""
    text = b"BT /F1 24 Tf 72 720 Td (Situationsplan) Tj ET"
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
                    b"/Resources << /Font << /F1 5 0 R >> >> >>", stream(text),
                    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")


def huge_array() -> bytes:
    """One page whose /Annots array holds a million numbers (2 MB of parser work)."""
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots ["
                    + b"0 " * 1_000_000 + b"] >>")


def huge_dictionary() -> bytes:
    """One page dictionary with 200,000 keys."""
    keys = b"".join(b"/K%d 0 " % n for n in range(200_000))
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] " + keys + b">>")


def deep_page_tree() -> bytes:
    """A page tree 5,000 /Pages nodes deep above its one page."""
    depth = 5_000
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):  # objects 2 .. depth+1
        number = level + 2
        parent = b"/Parent %d 0 R " % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages %s/Kids [%d 0 R] /Count 1 >>" % (parent, number + 1))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>" % (depth + 1))
    return pdf(objects)


def wide_page_tree() -> bytes:
    """A /Pages node whose /Kids array names the same page 200,000 times."""
    count = 200_000
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [" + b"3 0 R " * count + b"] /Count %d >>" % count,
                PAGE])


def wide_page_tree_within_array_limit() -> bytes:
    """40,000 references to one page, declared as one: within the array limit, beyond the
    page-tree limit."""
    count = 40_000
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [" + b"3 0 R " * count + b"] /Count 1 >>", PAGE])


def too_many_pages() -> bytes:
    """A well-formed, balanced PDF of 2,500 blank pages (beyond the page limit only)."""
    pages, per_node = 2_500, 50
    nodes = pages // per_node
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
                   b" ".join(b"%d 0 R" % (3 + n) for n in range(nodes)), pages)]
    first_page = 3 + nodes
    for n in range(nodes):
        kids = b" ".join(b"%d 0 R" % (first_page + n * per_node + k) for k in range(per_node))
        objects.append(b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>"
                       % (kids, per_node))
    for n in range(pages):
        objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>"
                       % (3 + n // per_node))
    return pdf(objects)


def cyclic_page_tree() -> bytes:
    """A /Pages node that is its own kid."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", PAGE])


def deep_nested_array() -> bytes:
    """One page with an array nested 100,000 levels deep."""
    depth = 100_000
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /X "
                    + b"[" * depth + b"]" * depth + b" >>")


def declared_objects() -> bytes:
    """A trailer declaring a billion objects."""
    return valid().replace(b"/Size 6 ", b"/Size 1000000000 ")


def truncated() -> bytes:
    """A valid PDF cut off in the middle."""
    whole = valid()
    return whole[: len(whole) // 2]


def not_a_pdf() -> bytes:
    """A GIF image with a .pdf name."""
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04" + b"\x00" * 64


def pdf_header_late() -> bytes:
    """An HTML page with %PDF- somewhere after its first kilobyte."""
    return b"<html>" + b" " * 2000 + b"%PDF-1.7 not really</html>"


def encrypted() -> bytes:
    """A one-page PDF with a user password (RC4, 128 bits)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password="hemligt", algorithm="RC4-128")  # noqa: S106
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bomb() -> bytes:
    """One page whose content stream inflates from about 200 kB to 200 MB."""
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
                    flate_stream_of_zeros(200))


def flate_stream_of_zeros(megabytes: int) -> bytes:
    """A Flate stream of ``megabytes`` MB of zero bytes, without compressing them all.

    After a full flush a deflate block does not refer back, so the block that encodes one
    megabyte can be repeated; the checksum is that of the whole.
    """
    chunk = b"\x00" * (1024 * 1024)
    packer = zlib.compressobj(9)
    header_and_block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    final = packer.flush()[:-4]  # the empty last block, without the checksum
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(chunk, checksum)
    packed = (header_and_block + block * (megabytes - 1) + final
              + checksum.to_bytes(4, "big"))
    return (b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed
            + b"\nendstream")


def many_small_bombs() -> bytes:
    """Twenty pages sharing one content stream of 10 MB: 200 MB decoded in all."""
    pages = 20
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>"
               % (b" ".join(b"%d 0 R" % (4 + n) for n in range(pages)), pages),
               stream(b" " * (10 * 1024 * 1024))]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>"
                for _ in range(pages)]
    return pdf(objects)


def unknown_filter() -> bytes:
    """A content stream with a filter no reader knows."""
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
                    b"<< /Length 4 /Filter /NoSuchDecode >>\nstream\nabcd\nendstream")


def broken_flate() -> bytes:
    """A content stream that says Flate but holds random bytes."""
    noise = bytes((n * 97 + 13) % 256 for n in range(4096))
    return one_page(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
                    b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(noise) + noise
                    + b"\nendstream")


# Name -> builder. Every one must be refused.
CORPUS: dict[str, Callable[[], bytes]] = {
    "huge-array": huge_array,
    "huge-dictionary": huge_dictionary,
    "deep-page-tree": deep_page_tree,
    "wide-page-tree": wide_page_tree,
    "wide-page-tree-within-array-limit": wide_page_tree_within_array_limit,
    "too-many-pages": too_many_pages,
    "cyclic-page-tree": cyclic_page_tree,
    "deep-nested-array": deep_nested_array,
    "declared-objects": declared_objects,
    "truncated": truncated,
    "not-a-pdf": not_a_pdf,
    "pdf-header-late": pdf_header_late,
    "encrypted": encrypted,
    "bomb": bomb,
    "many-small-bombs": many_small_bombs,
    "unknown-filter": unknown_filter,
}

# Damaged in ways pypdf recovers from, as viewers do: they must not crash the check, and
# may be accepted.
TOLERATED: dict[str, Callable[[], bytes]] = {
    "broken-flate": broken_flate,
}


def main(argv: list[str]) -> int:
    """Write the corpus (and the valid control) to the directory given."""
    if len(argv) != 1:
        print("usage: python -m tests.permits.hostile_pdfs DIRECTORY", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.mkdir(parents=True, exist_ok=True)
    for name, build in {"valid": valid, **CORPUS, **TOLERATED}.items():
        data = build()
        (target / f"{name}.pdf").write_bytes(data)
        print(f"{name}.pdf  {len(data):>10,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
