"""Turn the state of this machine into a list of checks: what briefgen can use, and what is missing.

Each output format reports on its own library (:func:`briefgen.writers.pdf.checks`,
:func:`briefgen.writers.docx.checks`); this module imports none of them itself.
"""

from __future__ import annotations

import sys

from .paths import builtin_templates
from .writers import Check, docx, pdf


def checks() -> list[Check]:
    """Run every check; none of them raises."""
    out = [Check("python", "ok", sys.version.split()[0])]
    out += pdf.checks()
    fonts = sorted((builtin_templates() / "fonts").glob("*.ttf"))
    out.append(
        Check(
            "shipped fonts",
            "ok" if len(fonts) >= 8 else "fail",
            f"{len(fonts)} font files in templates/fonts",
        )
    )
    out += docx.checks()
    return out
