"""Turn the package's install location into the folders of shipped templates and content.

The wheel maps ``templates/`` and ``content/`` into the package as
``briefgen/_data/templates`` and ``briefgen/_data/content``; in a source
checkout they sit beside the package. Both layouts resolve here.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    installed = PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return PACKAGE.parent / name


def builtin_templates() -> Path:
    """The folder of built-in templates, CSS, fonts and reference documents."""
    return _shipped("templates")


def builtin_content() -> Path:
    """The folder of the shipped strategy content."""
    return _shipped("content")
