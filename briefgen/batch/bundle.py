"""Turn a batch request's input files into data that travels to workers, and back into files there.

A Dask worker shares no file system with the client: the content, the user's template folders,
the theme file (with its logo) and the reference document are read on the client through
:mod:`briefgen.opener` (regular files inside their folder, each within its limit, the whole
within :data:`BUNDLE_LIMIT`), carried as bytes, and written by :func:`unpack` into a private
folder on the worker; the request the worker builds from names those copies. The stakeholder
rows travel in the tasks themselves.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError
from .plan import REFERENCE_LIMIT, TEMPLATE_FILE_LIMIT
from .worker import WorkerSettings

BUNDLE_LIMIT = 256 * 1024 * 1024  # all the input files a batch sends to each worker


@dataclass(frozen=True)
class Bundle:
    """The settings of a batch with every input file as bytes, keyed by a relative path."""

    settings: WorkerSettings
    token: str  # this batch's name on the workers
    files: dict[str, bytes] = field(default_factory=dict)
    content: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    theme: str | None = None
    reference_docx: str | None = None


class _Packer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.size = 0

    def add(self, key: str, path: Path, limit: int, within: Path, what: str) -> None:
        from .. import opener

        try:
            data = opener.read(path, limit, what, within=within)
        except opener.InputRefused as exc:
            raise UsageError(exc.message) from None
        self.size += len(data)
        if self.size > BUNDLE_LIMIT:
            raise UsageError(f"{what}: the inputs sent to each worker pass {BUNDLE_LIMIT // 2**20} MB")
        self.files[key] = data

    def tree(self, root: str, path: Path, limit: int, what: str) -> str:
        """Every regular file of ``path`` (a file or a folder) under ``root``; the path to use there."""
        from .. import opener

        if not path.is_dir():
            self.add(f"{root}/{path.name}", path, limit, path.parent, what)
            return f"{root}/{path.name}"
        for found, reason in opener.files(path):
            if reason is None:
                relative = found.relative_to(path).as_posix()
                big = REFERENCE_LIMIT if found.suffix == ".docx" else limit
                self.add(f"{root}/{relative}", found, big, path, what)
        return root


def pack(settings: WorkerSettings, token: str) -> Bundle:
    """``settings`` with the request's input files read into a :class:`Bundle`."""
    from .. import limits

    request = settings.request
    packer = _Packer()
    content = tuple(
        packer.tree(f"content/{i}", Path(path), limits.current().content_bytes, "--content")
        for i, path in enumerate(request.content)
    )
    templates = tuple(
        packer.tree(f"templates/{i}", Path(path), TEMPLATE_FILE_LIMIT, "--templates")
        for i, path in enumerate(request.templates)
    )
    theme = None
    if request.theme is not None:
        from ..config import MAX_TOML_BYTES
        from ..theme import MAX_LOGO_BYTES, load

        path = Path(request.theme)
        theme = packer.tree("theme", path, MAX_TOML_BYTES, "--theme")
        logo = load(path).logo  # a logo outside the theme's folder was refused by load
        if logo:
            relative = posixpath.normpath(str(logo).replace(os.sep, "/"))
            packer.add(f"theme/{relative}", path.parent / relative, MAX_LOGO_BYTES, path.parent, "--theme")
    reference = None
    if request.reference_docx is not None:
        reference = packer.tree(
            "reference", Path(request.reference_docx), REFERENCE_LIMIT, "--reference-docx"
        )
    return Bundle(settings, token, packer.files, content, templates, theme, reference)


def unpack(bundle: Bundle, under: Path | None = None) -> tuple[WorkerSettings, Path]:
    """Write the bundle's files into a new private folder; the settings naming them, and the folder."""
    root = Path(tempfile.mkdtemp(prefix="briefgen-batch-", dir=under))
    for key, data in bundle.files.items():
        parts = key.split("/")
        if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"a bundle key that leaves its folder: {key!r}")
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:
            handle.write(data)
    request = replace(
        bundle.settings.request,
        content=tuple(root / key for key in bundle.content),
        templates=tuple(root / key for key in bundle.templates),
        theme=root / bundle.theme if bundle.theme else None,
        reference_docx=root / bundle.reference_docx if bundle.reference_docx else None,
    )
    return replace(bundle.settings, request=request), root
