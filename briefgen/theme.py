"""Turn a theme file (TOML) into what each writer needs: CSS variables, Word colours and fonts, a logo.

One file brands the PDF, the HTML and the Word brief alike::

    name = "Civic"
    organisation = "Open Policy Lab"
    logo = "civic-logo.png"          # PNG (or SVG: PDF and HTML only), relative to this file
    page_size = "a4"                 # or "letter"
    footer = "Open Policy Lab · briefings"
    pdf_engine = "typst"             # optional: auto, typst or weasyprint (--pdf-engine wins)

    [colours]                        # any of: brand, brand_dark, accent, accent_soft, ink, muted, panel
    brand = "#1f5f4a"

    [fonts]
    pdf_heading = "sans"             # shipped families for PDF and HTML: "sans" or "serif"
    pdf_body = "serif"
    word_heading = "sans"            # Word: "sans" or "serif" (shipped, embedded; the default is
    word_body = "serif"              # the PDF's choice) or any font name (not embedded)
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .errors import UsageError
from .safe import css_string

#: One line of text: no control characters (a newline would end a CSS string or a Word run).
NO_CONTROLS = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
Text = Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)]
FontName = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=NO_CONTROLS)]
Hex = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
MAX_LOGO_BYTES = 2 * 1024 * 1024

#: The house colours as they appear in the built-in CSS and reference.docx.
DEFAULT_COLOURS = {
    "brand": "#123c69",
    "brand_dark": "#0b2744",
    "accent": "#e0a526",
    "accent_soft": "#fdf4e0",
    "ink": "#1d232b",
    "muted": "#5b6673",
    "panel": "#f1f5f9",
}
#: The shipped families: "sans" and "serif" in a theme, these names in CSS and Word.
SHIPPED_FAMILIES = {"sans": "Brief Sans", "serif": "Brief Serif"}
FAMILIES = {kind: f'"{name}"' for kind, name in SHIPPED_FAMILIES.items()}
#: The fonts of templates/reference.docx's styles: headings, cover, tables, callouts; running text.
DEFAULT_WORD_FONTS = {"heading": SHIPPED_FAMILIES["sans"], "body": SHIPPED_FAMILIES["serif"]}


class Colours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    brand: Hex = DEFAULT_COLOURS["brand"]
    brand_dark: Hex = DEFAULT_COLOURS["brand_dark"]
    accent: Hex = DEFAULT_COLOURS["accent"]
    accent_soft: Hex = DEFAULT_COLOURS["accent_soft"]
    ink: Hex = DEFAULT_COLOURS["ink"]
    muted: Hex = DEFAULT_COLOURS["muted"]
    panel: Hex = DEFAULT_COLOURS["panel"]


class Fonts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pdf_heading: Literal["sans", "serif"] = "sans"
    pdf_body: Literal["sans", "serif"] = "serif"
    word_heading: FontName | None = None  # None: the shipped family pdf_heading names
    word_body: FontName | None = None


class Theme(BaseModel):
    """A validated theme; ``logo_url`` is the logo as a data: URL (self-contained in every format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text = "default"
    organisation: Text | None = None
    logo: Text | None = None
    page_size: Literal["a4", "letter"] | None = None
    footer: Text | None = None
    pdf_engine: Literal["auto", "typst", "weasyprint"] | None = None  # None: --pdf-engine decides
    colours: Colours = Field(default_factory=Colours)
    fonts: Fonts = Field(default_factory=Fonts)
    logo_url: str | None = None
    logo_type: str | None = None

    def css(self) -> str:
        """CSS that applies the theme on top of the built-in stylesheets."""
        # Only what the theme sets: the rest stays as the (possibly edited) stylesheets have it.
        c = self.colours
        chosen = {name: getattr(c, name) for name in sorted(c.model_fields_set)}
        lines = [
            ":root {",
            *(f"  --{name.replace('_', '-')}: {value};" for name, value in chosen.items()),
            *(
                f"  --font-{kind}: {FAMILIES[getattr(self.fonts, 'pdf_' + kind)]};"
                for kind in ("heading", "body")
                if "pdf_" + kind in self.fonts.model_fields_set
            ),
            "}",
        ]
        if self.footer:
            lines.append(f"@page {{ @bottom-left {{ content: {css_string(self.footer)}; }} }}")
        return "\n".join(lines) + "\n"

    def word_colours(self) -> dict[str, str]:
        """Built-in colour (upper-case hex, as in Word XML) -> theme colour."""
        return {
            DEFAULT_COLOURS[name][1:].upper(): value[1:].upper()
            for name, value in self.colours.model_dump().items()
            if value.lower() != DEFAULT_COLOURS[name]
        }

    def word_fonts(self) -> dict[str, str]:
        """Font of the reference document's styles -> the theme's: "sans" and "serif" are the
        shipped families (embedded in the .docx), any other name is used as it is (not embedded);
        unset, Word follows the PDF's ``pdf_heading`` and ``pdf_body``."""
        chosen = {}
        for kind in ("heading", "body"):
            name = getattr(self.fonts, f"word_{kind}") or getattr(self.fonts, f"pdf_{kind}")
            chosen[DEFAULT_WORD_FONTS[kind]] = SHIPPED_FAMILIES.get(name.strip().lower(), name)
        return chosen


def load(path: Path) -> Theme:
    """Read and validate a theme file; errors name the file and the field."""
    from .config import read_toml

    data = read_toml(path, "--theme: ")
    data.pop("logo_url", None)
    data.pop("logo_type", None)
    try:
        theme = Theme.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"--theme: {path}: {where}: {first['msg']}") from None
    if theme.logo:
        from . import opener

        logo = path.parent / theme.logo
        kinds = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
        kind = kinds.get(Path(os.path.realpath(logo)).suffix.lower())
        if kind is None:
            raise UsageError(f"--theme: {path}: logo: use a PNG, JPEG or SVG file, not {logo.name}")
        if not opener.inside(logo, path.parent):
            raise UsageError(f"--theme: {path}: logo: {theme.logo} lies outside the theme's folder")
        if not os.path.lexists(logo):
            raise UsageError(f"--theme: {path}: logo: {theme.logo} is missing")
        try:
            data = opener.read(logo, MAX_LOGO_BYTES, within=path.parent)
        except opener.InputRefused as exc:
            raise UsageError(f"--theme: {path}: logo: {exc.message}") from None
        url = f"data:{kind};base64,{base64.b64encode(data).decode()}"
        theme = theme.model_copy(update={"logo_url": url, "logo_type": kind})
    return theme
