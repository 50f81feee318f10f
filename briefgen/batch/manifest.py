"""Turn a batch's plan and outcomes into its manifest: inputs plus one entry per stakeholder,
rewritten atomically as results come.

The previous manifest's entries are raw words read back from the output folder: they are
checked (:func:`briefgen.batch.plan.up_to_date`, :meth:`Manifest.carried`) before any is
used or copied.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..output import MANIFEST, MANIFEST_LIMIT, MANIFEST_VERSION, read_manifest, write_atomic
from .plan import Outcome, Task, checked_files

MANIFEST_EVERY_S = 1.0


class Manifest:
    """The batch manifest: inputs plus one entry per stakeholder, rewritten atomically as results come.

    The previous manifest's entries (``previous``) are raw words read back from the output
    folder: :func:`up_to_date` and :meth:`carried` check them before any is used or copied.
    """

    def __init__(
        self,
        out: Path,
        inputs: dict[str, Any],
        tasks: list[Task],
        labels: dict[Any, str],
        titles: dict[Any, str] | None = None,
        limit: int = MANIFEST_LIMIT,
    ) -> None:
        self.out = out
        self.path = out / MANIFEST
        self.labels = labels
        self.titles = titles or {}
        self.inputs = inputs
        previous = read_manifest(out, limit).get("stakeholders")
        self.previous: dict[str, dict[str, Any]] = {}
        for entry in previous if isinstance(previous, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                self.previous.setdefault(entry["id"], entry)
        self.order = [task.stakeholder.id for task in tasks]
        self.tasks = {task.stakeholder.id: task for task in tasks}
        self.entries: dict[str, dict[str, Any]] = {}
        self._carried: dict[str, dict[str, Any] | None] = {}
        self.written_at = 0.0

    def _entry(self, task: Task) -> dict[str, Any]:
        """An entry's fields that come from the plan (the validated list and content)."""
        row = task.stakeholder
        return {
            "id": row.id,
            "line": row.list_line,
            "name": row.name,
            "organisation": row.organisation,
            "audience": row.audience,
            "audience_label": self.labels.get((row.audience, row.language)) or self.labels.get(row.audience),
            "sector": row.sector,
            "country": row.country,
            "email": row.email,
            "attach": list(row.formats or task.formats),
            "title": self.titles.get((row.audience, row.language)) or self.titles.get(row.audience),
            "language": row.language,
        }

    def record(self, outcome: Outcome) -> None:
        task = self.tasks[outcome.id]
        entry = self._entry(task)
        entry.update(
            title=outcome.title or entry["title"],
            strategy=outcome.strategy,
            status=outcome.status if outcome.status != "skipped" else "built",
            input_sha256=task.input_sha256,
            files=outcome.files,
            error=outcome.error,
            warnings=outcome.warnings,
        )
        if outcome.status == "failed":  # earlier files stay on disk; keep describing those that check out
            entry["input_sha256"] = None
            earlier = (self.previous.get(outcome.id) or {}).get("files")
            entry["files"] = checked_files(task, earlier, self.out, hashed=False)
        self.entries[outcome.id] = entry

    def carried(self, ident: str) -> dict[str, Any] | None:
        """The previous entry of a stakeholder this run did not finish, rebuilt from the plan with only
        the fields of the old entry that check out (None when there was none). Files are checked by
        name, kind and size, not hashed: a re-run hashes them before believing them."""
        if ident not in self._carried:
            self._carried[ident] = self._carry(ident)
        return self._carried[ident]

    def _carry(self, ident: str) -> dict[str, Any] | None:
        old = self.previous.get(ident)
        if old is None:
            return None
        task = self.tasks[ident]
        status = old.get("status") if old.get("status") in ("built", "failed") else "failed"
        digest = old.get("input_sha256")
        error, warnings = old.get("error"), old.get("warnings")
        entry = self._entry(task)
        entry.update(
            status=status,
            input_sha256=digest if status == "built" and isinstance(digest, str) else None,
            files=checked_files(task, old.get("files"), self.out, hashed=False),
            error=error[:2000] if isinstance(error, str) else None,
            warnings=[w[:2000] for w in warnings if isinstance(w, str)] if isinstance(warnings, list) else [],
        )
        return entry

    def write(self, force: bool = False) -> None:
        """Write the manifest (at most once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self.written_at < MANIFEST_EVERY_S:
            return
        entries = [self.entries.get(i) or self.carried(i) for i in self.order]
        data = {
            "manifest_version": MANIFEST_VERSION,
            "generator": f"briefgen {__version__}",
            "kind": "batch",
            "inputs": self.inputs,
            "stakeholders": [e for e in entries if e is not None],
        }
        write_atomic(self.path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        self.written_at = now
