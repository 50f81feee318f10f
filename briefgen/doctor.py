"""Turn the state of this machine into a list of checks: what briefgen can use, and what is missing."""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from dataclasses import dataclass
from typing import Literal

from .paths import builtin_templates

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def libreoffice() -> str | None:
    """Path of the LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def checks() -> list[Check]:
    """Run every check; none of them raises."""
    out = [Check("python", "ok", sys.version.split()[0])]
    try:
        import weasyprint
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset, pango
    except (ImportError, OSError) as exc:
        out.append(Check("weasyprint", "fail", f"cannot load ({exc}); PDF output is unavailable"))
    else:
        out.append(Check("weasyprint", "ok", weasyprint.__version__))
        pango_version = pango.pango_version()
        major, minor = pango_version // 10000, pango_version // 100 % 100
        status: Status = "ok" if (major, minor) >= (1, 44) else "fail"
        out.append(Check("pango", status, f"{major}.{minor}.{pango_version % 100}"))
        fast = bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
        out.append(
            Check(
                "harfbuzz subsetter",
                "ok" if fast else "warn",
                "found: fonts are subset by HarfBuzz (fast)"
                if fast
                else "missing: fonts are subset with fontTools, several times slower "
                "(install the Debian package libharfbuzz-subset0; scripts/setup.sh does)",
            )
        )
    fonts = sorted((builtin_templates() / "fonts").glob("*.ttf"))
    out.append(
        Check(
            "shipped fonts",
            "ok" if len(fonts) >= 8 else "fail",
            f"{len(fonts)} font files in templates/fonts",
        )
    )
    docx = _version("python-docx")
    out.append(Check("python-docx", "ok" if docx else "fail", docx or "missing: Word output is unavailable"))
    office = libreoffice()
    out.append(
        Check(
            "libreoffice",
            "ok" if office else "warn",
            f"found at {office}: --docx-refresh can fill in page numbers"
            if office
            else "not found: --docx-refresh is unavailable (Word still fills the contents on open)",
        )
    )
    return out
