"""Turn a one-page cover PDF and a body PDF (both tagged, from WeasyPrint) into one tagged PDF.

Used by batches, where many stakeholders share a body and differ only in
their cover: the body is written once, each cover on its own, and the two
are joined here in a few milliseconds instead of painting every body page
again. Unlike a plain page merge, the join keeps the document accessible:

* the cover page is inserted first and keeps its content and resources;
* the cover's structure elements become the first children of the body's
  ``Document`` element, their parent tree entry is added under a new key,
  so every marked-content sequence stays reachable from the structure tree;
* outline, links, named destinations, metadata and language come from the
  body, whose pages are untouched.

Anything unexpected (annotations on the cover, a structure tree of another
shape) raises :class:`JoinError`, and the caller lays the brief out in full.
"""

from __future__ import annotations

import io
from typing import Any


class JoinError(Exception):
    """The two PDFs cannot be joined safely."""


def _kids(node: Any) -> list[Any]:
    import pikepdf

    value = node.get("/K")
    if value is None:
        return []
    return list(value) if isinstance(value, pikepdf.Array) else [value]


def _document(pdf: Any) -> Any:
    """The ``Document`` structure element under the structure tree root."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        raise JoinError("not a tagged PDF")
    kids = _kids(root)
    if len(kids) != 1 or kids[0].get("/S") != "/Document":
        raise JoinError("the structure tree does not start with one Document element")
    return kids[0]


def _parent_tree(pdf: Any) -> Any:
    root = pdf.Root.get("/StructTreeRoot")
    tree = root.get("/ParentTree") if root is not None else None
    if tree is None or "/Nums" not in tree or "/Kids" in tree:
        raise JoinError("the parent tree is not a flat number tree")
    return tree.Nums


def join(cover: bytes, body: bytes) -> bytes:
    """Put the one page of ``cover`` in front of ``body``; return the joined PDF."""
    with Body(body) as opened:
        return opened.join(cover)


class Body:
    """A body PDF opened once, to put many covers in front of it, one at a time.

    Each :meth:`join` inserts the cover, writes the joined PDF and then undoes
    its changes, so the next cover starts from the untouched body. Objects a
    cover brought in stay unreferenced in memory and are never written.
    """

    def __init__(self, data: bytes) -> None:
        import pikepdf

        self.pdf = pikepdf.open(io.BytesIO(data))
        self.document = _document(self.pdf)
        self.kids = _kids(self.document)
        self.tree = self.pdf.Root.StructTreeRoot
        self.nums = _parent_tree(self.pdf)
        self.nums_length = len(self.nums)
        self.next_key = self.tree.get("/ParentTreeNextKey")
        keys = [int(self.nums[i]) for i in range(0, len(self.nums), 2)]
        self.new_key = max([int(self.next_key or 0), *(k + 1 for k in keys)])

    def __enter__(self) -> Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pdf.close()

    def join(self, cover: bytes) -> bytes:
        """The body with the one page of ``cover`` in front, its structure elements first."""
        import pikepdf

        with pikepdf.open(io.BytesIO(cover)) as front:
            if len(front.pages) != 1:
                raise JoinError(f"the cover has {len(front.pages)} pages; one is expected")
            page = front.pages[0].obj
            if "/Annots" in page:
                raise JoinError("the cover has links or other annotations")
            cover_document = _document(front)
            key = int(page.get("/StructParents", -1))
            nums = _parent_tree(front)
            entry = next((nums[i + 1] for i in range(0, len(nums), 2) if int(nums[i]) == key), None)
            if entry is None:
                raise JoinError("the cover page has no parent tree entry")
            elements = _kids(cover_document)
            for element in elements:
                if "/P" in element:
                    del element["/P"]  # copied alone, then re-parented under the body's Document
            back = self.pdf
            back.pages.insert(0, front.pages[0])
            try:
                inserted = back.pages[0].obj
                copied = [back.copy_foreign(element) for element in elements]
                if any(e.get("/Pg") is not None and e.Pg.objgen != inserted.objgen for e in copied):
                    raise JoinError("copied structure elements do not point at the inserted page")
                for element in copied:
                    element.P = self.document
                marked = pikepdf.Array([back.copy_foreign(x) if x.is_indirect else x for x in entry])
                inserted.StructParents = self.new_key
                self.nums.append(self.new_key)  # keys stay sorted: the new one is the largest
                self.nums.append(marked)
                self.tree.ParentTreeNextKey = self.new_key + 1
                self.document.K = pikepdf.Array([*copied, *self.kids])
                out = io.BytesIO()
                back.save(out, deterministic_id=True)
                return out.getvalue()
            finally:
                self._undo()

    def _undo(self) -> None:
        """Take the cover out again: page, structure elements, parent tree entry."""
        import pikepdf

        del self.pdf.pages[0]
        self.document.K = pikepdf.Array(self.kids)
        while len(self.nums) > self.nums_length:
            del self.nums[len(self.nums) - 1]
        if self.next_key is None:
            if "/ParentTreeNextKey" in self.tree:
                del self.tree["/ParentTreeNextKey"]
        else:
            self.tree.ParentTreeNextKey = self.next_key
