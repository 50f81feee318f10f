"""Turn the state of this machine into a list of checks: what briefgen can use, and what is missing.

Each output format reports on its own library through its ``checks()`` (for example
:func:`briefgen.writers.pdf.checks`); this module imports none of those libraries itself.
"""

from __future__ import annotations

import importlib
import sys

from .writers import FORMATS, Check


def checks() -> list[Check]:
    """Run every check; none of them raises."""
    out = [Check("python", "ok", sys.version.split()[0])]
    for fmt in FORMATS.values():
        module = importlib.import_module(fmt.module)
        if hasattr(module, "checks"):
            out += module.checks()
    return out
