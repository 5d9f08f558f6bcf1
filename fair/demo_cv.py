"""The demo's CVs: one-page PDFs with a text layer, so that the CV pool's search finds the demo's
candidates by the words of their CV as it finds real ones (fair.cv_text extracts the text with
pypdf, fair.cv_pool searches its French stems).

Written with pypdf, already a dependency: a page whose content stream shows the lines in
Helvetica (one of the standard fonts every PDF reader has, so nothing is embedded) with the
WinAnsi encoding, which holds French accents. Tests build their CVs with it too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

WIDTH, HEIGHT = 595, 842  # A4, in points
TOP, LEFT, LEADING, SIZE = 790, 72, 16, 12


def _shown(line: str) -> bytes:
    """A line as a PDF string in WinAnsi (cp1252), its delimiters escaped; a character the
    encoding lacks becomes "?"."""
    raw = line.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_pdf(lines: Sequence[str], *, title: str = "", author: str = "") -> bytes:
    """A one-page A4 PDF whose text layer holds `lines`, one under the other."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=WIDTH, height=HEIGHT)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    # pypdf has no public call to add an indirect object to a new page's resources.
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    shown = f" 0 -{LEADING} Td ".encode().join(_shown(line) + b" Tj" for line in lines)
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 {SIZE} Tf {LEFT} {TOP} Td ".encode() + shown + b" ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    metadata = {"/Title": title} if title else {}
    writer.add_metadata(metadata | ({"/Author": author} if author else {}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def cv(name: str, lines: Sequence[str]) -> bytes:
    """A person's CV: their name, then `lines` (a title, experience, skills)."""
    return text_pdf([name, *lines], title=f"CV de {name}", author=name)
