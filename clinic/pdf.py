"""PDF documents that speak Russian and Uzbek: an ``fpdf2`` document with a Unicode font.

The core PDF fonts know Latin-1 only, so every document embeds DejaVu Sans (regular and
bold), the font family matplotlib ships with its data files: the package is a dependency
already (report charts), so no system font and no font download is needed anywhere.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

FAMILY = "DejaVu"
# ISO 216 sizes in millimetres (fpdf2 warns on the name "A5" since it corrected that size).
PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}


@lru_cache(maxsize=1)
def font_directory() -> Path:
    """Where matplotlib's DejaVu fonts are, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise RuntimeError("matplotlib is not installed: PDF documents need its fonts")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


def new_document(page_format: str | tuple[float, float] = "A4", orientation: str = "P") -> FPDF:
    """An empty document with the Unicode font family ``FAMILY`` (styles "" and "B") set.

    ``page_format`` is "A4", "A5" or (width, height) in millimetres (a receipt roll: 80 mm).
    """
    # Imported here: fpdf2 brings numpy, Pillow and fontTools (about 0.3 s of CPU), which only
    # the processes that draw a PDF need, not every web and worker process at start.
    from fpdf import FPDF

    size = PAGE_SIZES.get(page_format, page_format) if isinstance(page_format, str) else page_format
    document = FPDF(orientation=orientation, unit="mm", format=size)
    fonts = font_directory()
    document.add_font(FAMILY, "", str(fonts / "DejaVuSans.ttf"))
    document.add_font(FAMILY, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    document.set_font(FAMILY, size=10)
    document.set_auto_page_break(auto=True, margin=12)
    document.set_creator("Clinic")
    return document


def to_bytes(document: FPDF) -> bytes:
    return bytes(document.output())
