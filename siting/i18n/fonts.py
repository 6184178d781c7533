"""A CJK-capable font for plots and reports, installed with the project.

The font is Noto Sans CJK SC (SIL Open Font License 1.1), shipped by the PyPI package ``mplfonts`` (a
dependency of siting; only its Noto Sans CJK SC file is used). ``$SITING_CJK_FONT`` names another font file;
without either, a CJK font matplotlib already knows (Noto / Source Han / WenQuanYi ...) is used.

* Plots: :func:`plot_rc` registers the font with matplotlib at plot time and returns rcParams whose
  ``font.family`` is a fallback list (DejaVu Sans for Latin text, then the CJK font per missing glyph), so
  community names in Chinese draw in English plots too.
* HTML: :func:`css_font_face` embeds the font subset to the characters of the page (a few hundred glyphs, a
  few hundred kB) as a data URI, so the self-contained report renders Chinese on a machine without CJK fonts,
  offline.
"""
from __future__ import annotations

import base64
import functools
import io
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["CJK_FAMILY_CSS", "cjk_font_path", "cjk_family", "plot_rc", "css_font_face", "has_cjk", "FONT_ENV"]

FONT_ENV = "SITING_CJK_FONT"
#: the family name the report's embedded subset is declared under
CJK_FAMILY_CSS = "Siting CJK"
#: CJK fonts matplotlib may already know on this machine, in order of preference
_KNOWN_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN",
                   "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
#: the same ranges for CSS: the page takes only these characters from the embedded subset
CJK_UNICODE_RANGE = "U+2E80-9FFF,U+F900-FAFF,U+FF00-FFEF,U+3000-303F"


def has_cjk(text: str) -> bool:
    """True when ``text`` holds a CJK character or full-width punctuation."""
    return bool(_CJK.search(text or ""))


@functools.cache
def cjk_font_path() -> Path | None:
    """The CJK font file: ``$SITING_CJK_FONT``, else mplfonts' Noto Sans CJK SC, else a system one (or None)."""
    given = os.environ.get(FONT_ENV)
    if given and Path(given).is_file():
        return Path(given)
    try:
        import mplfonts

        shipped = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
        if shipped.is_file():
            return shipped
    except ImportError:
        pass
    from matplotlib import font_manager

    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in _KNOWN_FAMILIES:
        if family in by_name:
            return Path(by_name[family])
    return None


@functools.cache
def cjk_family() -> str | None:
    """The matplotlib family name of :func:`cjk_font_path`, registered with matplotlib (None without a font)."""
    path = cjk_font_path()
    if path is None:
        return None
    import logging

    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    # the CJK font has one weight: bold titles take it at 400, which matplotlib logs as a warning every time
    logging.getLogger("matplotlib.font_manager").addFilter(
        lambda record: not str(record.msg).startswith("findfont: Failed to find font weight"))
    return font_manager.FontProperties(fname=str(path)).get_name()


def plot_rc() -> dict[Any, Any]:
    """RcParams for a plot that may hold Chinese text (use with ``matplotlib.rc_context``).

    The family list makes matplotlib take each glyph from the first font that has it: Latin from DejaVu
    Sans (as before), Chinese from the CJK font. Empty when no CJK font is installed (plots stay as before).
    """
    family = cjk_family()
    if family is None:
        return {}
    # explicit families: matplotlib falls back glyph by glyph only across named families, not a generic one
    return {"font.family": ["DejaVu Sans", family]}


@functools.lru_cache(maxsize=8)
def _subset(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path = cjk_font_path()
    # horizontal text, no shaping features needed for Chinese: dropping the layout and vertical tables and
    # not recomputing bounding boxes takes a 16 MB CFF font to a ~50 kB subset in about 3 s instead of 10 s
    font = TTFont(str(path), lazy=True, recalcBBoxes=False)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "VORG", "vmtx", "vhea", "BASE"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    # local subroutines of a CID font survive subsetting in a form Chromium draws as boxes for some glyphs
    options.desubroutinize = True
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def css_font_face(text: str) -> str:
    """An ``@font-face`` rule embedding the CJK font subset to the CJK characters of ``text`` ("" if none).

    Latin text keeps the page's first fonts; only CJK characters (and full-width punctuation) are embedded.
    """
    chars = "".join(sorted(set(_CJK.findall(text or ""))))
    if not chars or cjk_font_path() is None:
        return ""
    data = base64.b64encode(_subset(chars)).decode("ascii")
    return (f"@font-face{{font-family:\"{CJK_FAMILY_CSS}\";font-style:normal;font-weight:400;"
            f"unicode-range:{CJK_UNICODE_RANGE};src:url(data:font/otf;base64,{data}) format(\"opentype\");}}")
