"""Turn the HTML intermediate form into a Word document with python-docx.

The only module that imports python-docx. The document starts as a copy of the
reference .docx (its styles, numbering, page set-up, headers and footers) with
the body emptied, as pandoc's ``--reference-doc`` does, and is then filled
element by element from the documented HTML set (docs/html-intermediate.md):

* headings become Word's built-in Heading 1-3 with bookmarks, so the
  navigation pane and the table of contents work;
* the contents page is a real TOC field whose result is already filled with
  the entries (linked to the heading bookmarks), and Word is told to refresh
  fields on open;
* every numbered list gets its own numbering instance that restarts at 1;
* hyperlinks are real, for ``http(s):`` and ``mailto:`` only;
* anything outside the documented set is a warning naming the element, and
  its text is kept.

The zip is rewritten with fixed timestamps and a stable order, so the same
input with ``SOURCE_DATE_EPOCH`` gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu
from lxml import etree

from .. import opener, resources
from ..errors import RenderError
from ..log import warn
from ..render import template_dirs
from ..unpack import MAX_PACKAGE_BYTES, Refused, members

if TYPE_CHECKING:
    from ..render import Rendered
    from . import WriteOptions

REFERENCE = "reference.docx"
MAX_REFERENCE_BYTES = MAX_PACKAGE_BYTES
MAX_REFERENCE_RATIO = 200
MAX_REFERENCE_MEMBERS = 2_000
# Tags and attributes ("<" and "=") in a reference's XML parts: parsed, each costs lxml about 200 bytes.
MAX_REFERENCE_MARKUP = 1_000_000
XML_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"}
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
XML_DECLARATION = re.compile(r"""\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
MAX_WRITTEN_BYTES = 1024 * 1024 * 1024  # a brief briefgen wrote, read back (images are 20 MB at most)
SAFE_LINKS = ("http://", "https://", "mailto:")
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SPACES = re.compile(r"[ \t\n\r\f]+")

HEADINGS = {"h1": 1, "h2": 2, "h3": 3}
HEADING_STYLES = {"Heading 1": 1, "Heading 2": 2, "Heading 3": 3}
CONTAINERS = {"section", "article", "div", "footer", "main", "aside", "nav", "header", "body"}
INLINE = {"strong", "b", "em", "i", "code", "span", "a", "br", "img", "sub", "sup"}
PARAGRAPH_CLASSES = {
    "lead": "Lead",
    "note": "Note",
    "meta": "Meta",
    "links": "Links",
    "callout-title": "Callout Title",
    "figure-value": "Figure Value",
    "figure-label": "Figure Label",
    "cover-kicker": "Cover Kicker",
    "title": "Title",
    "subtitle": "Subtitle",
    "prepared-for": "Prepared For",
    "toc-title": "TOC Heading",
}
CONTAINER_STYLES = {"callout-actions": "Key Actions", "callout": "Callout", "colophon": "Colophon"}
# Fallbacks for styles a reference document may lack.
FALLBACK = {
    "Key Actions": "Callout",
    "Callout Title": "Callout",
    "Figure Value": "Callout",
    "Figure Label": "Callout",
    "Callout": "Normal",
    "Cover Kicker": "Subtitle",
    "Cover Meta": "Normal",
    "Prepared For": "Normal",
    "Lead": "Normal",
    "Note": "Normal",
    "Meta": "Normal",
    "Links": "Normal",
    "Colophon": "Normal",
    "TOC Heading": "Heading 1",
    "Subtitle": "Normal",
    "Title": "Normal",
    "Caption": "Normal",
    "Quote": "Normal",
    "List Paragraph": "Normal",
    "TOC 1": "Normal",
    "TOC 2": "Normal",
    "Header": "Normal",
    "Footer": "Normal",
    "Table Text": "Normal",
    "Table Heading": "Table Text",
}
# Fields that fetch or embed content from elsewhere when Word updates them.
FETCHING_FIELDS = frozenset(
    {
        "INCLUDEPICTURE",
        "INCLUDETEXT",
        "INCLUDE",
        "LINK",
        "DDE",
        "DDEAUTO",
        "IMPORT",
        "RD",
        "DATABASE",
        "EMBED",
    }
)
# Internal relationships to objects that run or embed other programs' content.
EMBEDDED = frozenset(
    {
        "oleObject",
        "package",
        "control",
        "activeXControlBinary",
        "aFChunk",
        "vbaProject",
        "wordVbaData",
        "attachedToolbars",
        "keyMapCustomizations",
    }
)
FIELD_WORD = re.compile(r'[\s"\\]+')
FIELD_TOKEN = re.compile(r'"([^"]*)"|(\\\S+)|([^\s"]+)')
RELS_MEMBER = re.compile(r"(?:^|/)_rels/[^/]*\.rels$", re.IGNORECASE)
RELATIONSHIP_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
OFFICE_NS = "urn:schemas-microsoft-com:office:office"
W_FLD_CHAR, W_FLD_CHAR_TYPE, W_INSTR_TEXT = qn("w:fldChar"), qn("w:fldCharType"), qn("w:instrText")
W_DEL_INSTR_TEXT, W_FLD_SIMPLE, W_INSTR = qn("w:delInstrText"), qn("w:fldSimple"), qn("w:instr")
W_HYPERLINK, W_OBJECT, W_RUN, W_TBL_GRID = qn("w:hyperlink"), qn("w:object"), qn("w:r"), qn("w:tblGrid")
W_MAIL_MERGE = qn("w:mailMerge")
BULLETS = ("•", "◦", "▪")
NUMBER_FORMATS = ("decimal", "lowerLetter", "lowerRoman")


def clean(text: str) -> str:
    """Remove characters XML cannot hold (control characters, lone surrogates)."""
    return XML_UNSAFE.sub("", text)


def normalise_zip(data: bytes, epoch: int | None) -> bytes:
    """Rewrite a .docx zip with fixed timestamps and a stable member order."""
    return pack(unpack(data), epoch)


def unpack(data: bytes) -> dict[str, bytes]:
    """The members of a Word file briefgen wrote, by name, read with the bounds of :mod:`briefgen.unpack`."""
    try:
        return members(data, MAX_WRITTEN_BYTES)
    except Refused as exc:
        raise RenderError(f"Word document: {exc}") from None


def pack(parts: dict[str, bytes], epoch: int | None) -> bytes:
    """Zip ``parts`` as a .docx: content types first, fixed timestamps, a stable order."""
    moment = dt.datetime.fromtimestamp(max(epoch or 315532800, 315532800), dt.UTC)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    names = sorted(parts, key=lambda n: (n != "[Content_Types].xml", n.startswith("docProps/"), n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, parts[name], compresslevel=6)
    return out.getvalue()


# ----- the reference document --------------------------------------------------------------------
#
# The reference is read through the opener, unpacked with a byte budget, cleaned at the level of
# its zip members (every part, reached or not) and packed again: python-docx only ever sees the
# cleaned package.


@dataclass(frozen=True)
class Source:
    """Where the reference comes from: its path, the flag that named it, the folders it must stay in."""

    path: Path
    what: str = ""
    within: tuple[Path, ...] | None = None

    @property
    def shown(self) -> str:
        return f"{self.what}: {self.path}" if self.what else str(self.path)


def reference_source(options: WriteOptions) -> Source:
    """The reference .docx: --reference-docx, else the first in the template search path."""
    if options.reference_docx is not None:
        return Source(options.reference_docx, "--reference-docx")
    folders = template_dirs(options.templates)
    for folder in folders:
        candidate = folder / REFERENCE
        if not os.path.lexists(candidate):
            continue
        if not opener.inside(candidate, folders):
            warn("%s points outside the template folders; not read", candidate)
            continue
        return Source(candidate, within=folders)
    raise RenderError(f"no {REFERENCE} in the template folders")


def reference_package(source: Source) -> bytes:
    """The cleaned reference package (read again whenever the file changes); replays its warnings."""
    try:
        info = os.stat(source.path)
    except OSError as exc:
        raise RenderError(f"{source.shown}: cannot read reference document ({exc.strerror})") from None
    if S_ISREG(info.st_mode) and info.st_size > MAX_REFERENCE_BYTES:
        size, limit = f"{info.st_size:,}", f"{MAX_REFERENCE_BYTES:,}"
        raise RenderError(
            f"{source.shown}: refused as reference document: it is {size} bytes (limit {limit})"
        )
    data, notes = _cached_reference(source, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    for note in notes:
        warn("%s", note)
    return data


@functools.lru_cache(maxsize=8)
def _cached_reference(source: Source, *_stat: int) -> tuple[bytes, tuple[str, ...]]:
    return check_reference(source)


def check_reference(source: Source | Path) -> tuple[bytes, tuple[str, ...]]:
    """Read, unpack with a budget and clean a reference .docx; return the package and its warnings."""
    if not isinstance(source, Source):
        source = Source(Path(source))
    refused = f"{source.shown}: refused as reference document"
    try:
        data = opener.read(source.path, MAX_REFERENCE_BYTES, source.what, source.within)
    except opener.InputRefused as exc:
        raise RenderError(f"{refused}: {exc.message.removeprefix(source.shown + ': ')}") from None
    try:
        parts = members(data, MAX_REFERENCE_BYTES, MAX_REFERENCE_MEMBERS, MAX_REFERENCE_RATIO, ".docx")
    except Refused as exc:
        raise RenderError(f"{refused}: {exc}") from None
    if "word/document.xml" not in parts:
        raise RenderError(f"{refused}: not a Word document (no word/document.xml)")
    package = ReferencePackage(parts, source.path.name)
    try:
        package.clean()
    except Refused as exc:
        raise RenderError(f"{refused}: {exc}") from None
    return pack(package.parts, None), tuple(package.notes)


def open_reference(source: Source) -> Any:
    """The cleaned reference as a python-docx document."""
    data = reference_package(source)
    try:
        return Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... on broken packages
        reason = (str(exc).splitlines() or [""])[0][:200]
        raise RenderError(
            f"{source.shown}: refused as reference document: python-docx cannot read it "
            f"({type(exc).__name__}: {reason})"
        ) from None


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _resolve(source: str, target: str) -> str:
    """The member name a relationship of the part ``source`` points to."""
    path = target if target.startswith("/") else posixpath.join("/", posixpath.dirname(source), target)
    return posixpath.normpath(path).lstrip("/")


def _source_of(rels: str) -> str:
    """The part a relationships member belongs to ("" for the package's own)."""
    folder, name = posixpath.split(rels)
    return posixpath.join(posixpath.dirname(folder), name.removesuffix(".rels")).lstrip("/")


def _kind(reltype: str) -> str:
    return reltype.rsplit("/", 1)[-1]


def _attached(element: Any, root: Any) -> bool:
    return element is root or any(a is root for a in element.iterancestors())


@dataclass
class Field:
    """One complex field of a part, from its ``begin`` to its ``end`` character."""

    begin: Any
    position: int
    code: list[str] = field(default_factory=list)
    code_elements: list[Any] = field(default_factory=list)
    separate: Any = None
    end: Any = None
    computed: bool = False  # a nested field comes before any text of the code

    @property
    def instruction(self) -> str:
        return "".join(self.code)


def complex_fields(root: Any) -> list[Field]:
    """Every complex field of ``root`` in the order they begin, nested ones included."""
    found: list[Field] = []
    stack: list[Field] = []
    for position, element in enumerate(root.iter(W_FLD_CHAR, W_INSTR_TEXT, W_DEL_INSTR_TEXT)):
        if element.tag == W_FLD_CHAR:
            kind = element.get(W_FLD_CHAR_TYPE)
            if kind == "begin":
                if stack and stack[-1].separate is None and not stack[-1].instruction.strip():
                    stack[-1].computed = True
                stack.append(Field(element, position))
            elif kind == "separate" and stack and stack[-1].separate is None:
                stack[-1].separate = element
            elif kind == "end" and stack:
                done = stack.pop()
                done.end = element
                found.append(done)
        elif stack and stack[-1].separate is None:
            stack[-1].code.append(element.text or "")
            stack[-1].code_elements.append(element)
    found.extend(stack)  # never ended
    return sorted(found, key=lambda f: f.position)


def field_kind(instruction: str) -> str:
    """The field type of an instruction (``  includePicture "x"`` -> ``INCLUDEPICTURE``)."""
    return next((word for word in FIELD_WORD.split(instruction) if word), "").upper()


def _link_target(instruction: str) -> str | None:
    """The address of a HYPERLINK instruction; None for a link within the document."""
    tokens = FIELD_TOKEN.findall(instruction.strip())[1:]
    skip = False
    for quoted, switch, word in tokens:
        if skip:
            skip = False
        elif switch:
            skip = switch.lower() in ("\\l", "\\o", "\\t")
        else:
            return quoted or word
    return None


def _verdict(kind: str, instruction: str, computed: bool) -> str | None:
    """ "remove" for a field that fetches, "unlink" for an unsafe HYPERLINK, else None."""
    if computed or kind in FETCHING_FIELDS:
        return "remove"
    if kind == "HYPERLINK":
        target = _link_target(instruction)
        if target is not None and not target.lower().startswith(SAFE_LINKS):
            return "unlink"
    return None


def _keep(element: Any) -> bool:
    """Property elements (w:rPr, w:pPr, w:tcPr...) stay when the content around them goes."""
    return not isinstance(element.tag, str) or element.tag.endswith("Pr") or element.tag == W_TBL_GRID


def _drop_empty_runs(elements: list[Any]) -> None:
    for element in elements:
        parent = element.getparent()
        if element.tag == W_RUN and parent is not None and all(_keep(child) for child in element):
            parent.remove(element)


def _remove(element: Any) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def remove_range(first: Any, last: Any) -> None:
    """Remove ``first``, ``last`` and everything between them in document order (properties stay)."""
    firsts = [first, *first.iterancestors()]
    lasts = [last, *last.iterancestors()]
    common = next(a for a in firsts if any(a is b for b in lasts))
    if common is first or common is last:  # one inside the other: only a hostile part nests them
        _remove(common)
        return
    up_a = firsts[: next(i for i, a in enumerate(firsts) if a is common)]
    up_b = lasts[: next(i for i, b in enumerate(lasts) if b is common)]
    for node in up_a[:-1]:
        for sibling in list(node.itersiblings()):
            if not _keep(sibling):
                _remove(sibling)
    for node in up_b[:-1]:
        for sibling in list(node.itersiblings(preceding=True)):
            if not _keep(sibling):
                _remove(sibling)
    for sibling in list(up_a[-1].itersiblings()):
        if sibling is up_b[-1]:
            break
        _remove(sibling)
    _remove(first)
    _remove(last)
    _drop_empty_runs([*up_a[1:], *up_b[1:]])


class ReferencePackage:
    """The members of a reference document while they are cleaned.

    Every part is looked at, whether a relationship reaches it or not: the
    fields that fetch are removed from every XML part, and the relationships
    of every part (the package's own ``_rels/.rels`` included) lose their
    external targets and embedded objects. Only parts that change are
    written again, so a clean reference passes through byte for byte.
    """

    def __init__(self, parts: dict[str, bytes], name: str) -> None:
        self.parts = dict(parts)
        self.name = name
        self.notes: list[str] = []
        self.trees: dict[str, Any] = {}
        self.changed: set[str] = set()
        self.defaults, self.overrides = self._content_types()

    def note(self, message: str, *args: object) -> None:
        """Record a warning (one line: control characters from the document are shown escaped)."""
        text = f"reference document {self.name}: " + message % args
        self.notes.append(CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))

    def tree(self, name: str) -> Any:
        """The parsed root of the part ``name`` (DTDs refused)."""
        if name not in self.trees:
            try:
                root = etree.fromstring(self.parts[name], _xml_parser())
            except etree.XMLSyntaxError as exc:
                raise Refused(f"part {name} is not well-formed XML ({exc})") from None
            docinfo = root.getroottree().docinfo
            if docinfo.doctype or docinfo.internalDTD is not None:
                raise Refused(f"part {name} declares a DTD, which Office documents may not")
            self.trees[name] = root
        return self.trees[name]

    def markup(self, name: str) -> int:
        """The tags and attributes of the XML part ``name``, which must be UTF-8 or UTF-16."""
        raw = self.parts[name]
        if raw.startswith(b"\xef\xbb\xbf"):
            head = raw[3:300].decode("utf-8", "replace")
        elif raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            head = raw[:600].decode("utf-16", "replace")
        else:
            head = raw[:300].decode("latin-1")
        declared = XML_DECLARATION.match(head)
        if declared and declared.group(1).lower() not in XML_ENCODINGS:
            raise Refused(f"part {name} is in {declared.group(1)!r}; Office documents use UTF-8 or UTF-16")
        return raw.count(b"<") + raw.count(b"=")

    def _content_types(self) -> tuple[dict[str, str], dict[str, str]]:
        defaults: dict[str, str] = {}
        overrides: dict[str, str] = {}
        if "[Content_Types].xml" in self.parts:
            if self.markup("[Content_Types].xml") > MAX_REFERENCE_MARKUP:
                raise Refused(
                    f"[Content_Types].xml holds more than {MAX_REFERENCE_MARKUP:,} tags and attributes"
                )
            for entry in self.tree("[Content_Types].xml"):
                if not isinstance(entry.tag, str):
                    continue
                if entry.tag.endswith("}Default"):
                    defaults[entry.get("Extension", "").lower()] = entry.get("ContentType", "")
                elif entry.tag.endswith("}Override"):
                    overrides[entry.get("PartName", "").lstrip("/").lower()] = entry.get("ContentType", "")
        return defaults, overrides

    def is_xml(self, name: str) -> bool:
        """Whether ``name`` is a part Word or python-docx reads as XML (images such as SVG are not)."""
        if RELS_MEMBER.search(name) or name.lower().endswith(".xml"):
            return True
        kind = self.overrides.get(name.lower()) or self.defaults.get(
            posixpath.splitext(name)[1][1:].lower(), ""
        )
        return kind.endswith("xml") and not kind.startswith("image/")

    def clean(self) -> None:
        xml = sorted(name for name in self.parts if self.is_xml(name))
        markup = sum(self.markup(name) for name in xml)
        if markup > MAX_REFERENCE_MARKUP:
            raise Refused(
                f"its XML parts hold {markup:,} tags and attributes (limit {MAX_REFERENCE_MARKUP:,})"
            )
        for name in xml:  # every XML part is parsed, reached or not, whatever its encoding
            self.clean_fields(name)
            if name not in self.changed and not RELS_MEMBER.search(name):
                del self.trees[name]  # parsed again only if one of its relationships is dropped
        for name in xml:
            if RELS_MEMBER.search(name):
                self.clean_relationships(name)
        self.verify()
        for name in sorted(self.changed):
            root = self.trees[name]
            self.parts[name] = etree.tostring(
                root.getroottree(), xml_declaration=True, encoding="UTF-8", standalone=True
            )

    # ----- fields ----------------------------------------------------------------------------

    def clean_fields(self, name: str) -> None:
        """Remove fields that fetch (simple and complex, at any depth) and mail-merge data sources."""
        root = self.tree(name)
        for merge in list(root.iter(W_MAIL_MERGE)):
            self.note("removed the mail-merge data source from %s", name)
            _remove(merge)
            self.changed.add(name)
        for simple in list(root.iter(W_FLD_SIMPLE)):
            instruction = simple.get(W_INSTR) or ""
            verdict = _verdict(field_kind(instruction), instruction, computed=False)
            if verdict is None or not _attached(simple, root):
                continue
            if simple is root:
                raise Refused(f"part {name} is a field that fetches")
            self.note_field(verdict, instruction, name)
            if verdict == "unlink":
                for child in list(simple):
                    simple.addprevious(child)
            _remove(simple)
            self.changed.add(name)
        for found in complex_fields(root):
            verdict = _verdict(field_kind(found.instruction), found.instruction, found.computed)
            if verdict is None or not _attached(found.begin, root):
                continue
            self.note_field(verdict, found.instruction, name, found.computed)
            self.changed.add(name)
            if found.end is None or not _attached(found.end, root):  # never ended: drop its code
                code = [e for e in (found.begin, *found.code_elements, found.separate) if e is not None]
                runs = [e.getparent() for e in code if e.getparent() is not None]
                for element in code:
                    _remove(element)
                _drop_empty_runs(runs)
            elif verdict == "unlink" and found.separate is not None:
                end = found.end
                remove_range(found.begin, found.separate)
                run = end.getparent()
                _remove(end)
                _drop_empty_runs([run])
            else:
                remove_range(found.begin, found.end)
        if _fetching(root):
            raise Refused(f"part {name} keeps a field that fetches")

    def note_field(self, verdict: str, instruction: str, part: str, computed: bool = False) -> None:
        kind = field_kind(instruction) or "(empty)"
        if verdict == "unlink":
            target = resources.shown(_link_target(instruction) or "")
            self.note(
                "link to %s in a HYPERLINK field of %s kept as plain text: only http(s) and mailto links "
                "are allowed",
                target,
                part,
            )
        elif computed:
            self.note("removed a field whose type another field computes from %s", part)
        else:
            self.note(
                "removed %s field from %s (%s)", kind, part, resources.shown(" ".join(instruction.split()))
            )

    # ----- relationships ---------------------------------------------------------------------

    def clean_relationships(self, rels: str) -> None:
        """Drop external targets (unsafe links become plain text), embedded objects and missing parts."""
        root = self.tree(rels)
        source = _source_of(rels)
        dropped: dict[str, str] = {}
        ids: set[str] = set()
        for rel in list(root):
            if not isinstance(rel.tag, str):
                continue
            rid, reltype, target = rel.get("Id", ""), rel.get("Type", ""), rel.get("Target", "")
            if rid in ids:
                raise Refused(f"relationship id {rid!r} occurs twice in {rels}")
            ids.add(rid)
            mode = rel.get("TargetMode", "Internal")
            if mode != "Internal":
                if _kind(reltype) == "hyperlink" and target.lower().startswith(SAFE_LINKS):
                    if mode != "External":
                        rel.set("TargetMode", "External")
                        self.changed.add(rels)
                    continue
                if _kind(reltype) == "hyperlink":
                    self.note(
                        "link to %s kept as plain text: only http(s) and mailto links are allowed",
                        resources.shown(target),
                    )
                    dropped[rid] = "unlink"
                else:
                    self.note("removed external %s link to %s", _kind(reltype), resources.shown(target))
                    dropped[rid] = "remove"
            elif _kind(reltype) in EMBEDDED:
                self.note("removed embedded object %s", target)
                dropped[rid] = "remove"
            elif _resolve(source, target) not in self.parts:
                self.note(
                    "removed %s relationship of %s to a missing part %s", _kind(reltype), source, target
                )
                dropped[rid] = "remove"
            else:
                continue
            root.remove(rel)
            self.changed.add(rels)
        if dropped and source in self.parts and self.is_xml(source):
            self.drop_references(source, dropped)

    def drop_references(self, part: str, dropped: dict[str, str]) -> None:
        """Remove the elements of ``part`` that refer to a dropped relationship (links are unwrapped)."""
        root = self.tree(part)
        hits = [
            (element, attribute, dropped[value])
            for element in root.iter()
            if isinstance(element.tag, str)
            for attribute, value in element.attrib.items()
            if value in dropped and _refers(attribute)
        ]
        for element, attribute, action in hits:
            self.changed.add(part)
            if not _attached(element, root):
                continue
            if element is root:
                del element.attrib[attribute]
            elif action == "unlink" and element.tag == W_HYPERLINK:
                for child in list(element):
                    element.addprevious(child)
                _remove(element)
            else:
                _remove(next(element.iterancestors(W_OBJECT), element))

    # ----- the last look ---------------------------------------------------------------------

    def verify(self) -> None:
        """Nothing that fetches is left: no external target but safe links, no fetching field in a
        part that changed (the others were checked as they were parsed)."""
        for name in self.parts:
            if RELS_MEMBER.search(name):
                for rel in self.tree(name):
                    if not isinstance(rel.tag, str) or rel.get("TargetMode", "Internal") == "Internal":
                        continue
                    if _kind(rel.get("Type", "")) != "hyperlink" or not rel.get(
                        "Target", ""
                    ).lower().startswith(SAFE_LINKS):
                        raise Refused(f"{name} keeps an external relationship to {rel.get('Target')}")
        for name, root in self.trees.items():
            if _fetching(root):
                raise Refused(f"part {name} keeps a field that fetches")


def _fetching(root: Any) -> bool:
    """Whether ``root`` holds a field that fetches or an unsafe HYPERLINK field."""
    simple = (f.get(W_INSTR) or "" for f in root.iter(W_FLD_SIMPLE))
    return any(_verdict(field_kind(i), i, False) for i in simple) or any(
        _verdict(field_kind(f.instruction), f.instruction, f.computed) for f in complex_fields(root)
    )


def _refers(attribute: str) -> bool:
    """Whether an attribute holds a relationship id (r:id, r:embed, r:link..., VML's o:relid)."""
    namespace, _, local = attribute[1:].partition("}")
    return namespace in RELATIONSHIP_NAMESPACES or (namespace == OFFICE_NS and local == "relid")


def check_written(parts: dict[str, bytes]) -> None:
    """The last look at a written brief: no external relationship but http(s) and mailto links."""
    for name, raw in parts.items():
        if RELS_MEMBER.search(name) and b"External" in raw:
            for rel in etree.fromstring(raw, _xml_parser()):
                if not isinstance(rel.tag, str) or rel.get("TargetMode", "Internal") == "Internal":
                    continue
                target = rel.get("Target", "")
                if _kind(rel.get("Type", "")) != "hyperlink" or not target.lower().startswith(SAFE_LINKS):
                    raise RenderError(
                        f"Word document: {name} would refer to {resources.shown(target)}; not written"
                    )


def _drop_unused(doc: Any) -> None:
    """After the body is emptied, drop the body's images and links nobody refers to any more."""
    used = set(doc.element.xpath("//@r:id|//@r:embed|//@r:link"))
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in (RT.IMAGE, RT.HYPERLINK) and rid not in used:
            del doc.part.rels[rid]


@dataclass
class Numbering:
    """Numbering definitions: one bullet list, and a fresh instance for every numbered list."""

    part: Any
    bullet_num: int = 0
    decimal_abstract: int = 0
    next_num: int = 0

    @classmethod
    def install(cls, doc: Any) -> Numbering:
        part = doc.part.numbering_part
        root = part.element
        abstract_ids = [int(a.get(qn("w:abstractNumId"))) for a in root.findall(qn("w:abstractNum"))]
        num_ids = [int(n.get(qn("w:numId"))) for n in root.findall(qn("w:num"))]
        first_abstract = max(abstract_ids, default=0) + 1
        bullet = _abstract(first_abstract, bullets=True)
        decimal = _abstract(first_abstract + 1, bullets=False)
        existing = root.findall(qn("w:abstractNum"))
        anchor = existing[-1] if existing else None
        for element in (bullet, decimal):
            if anchor is not None:
                anchor.addnext(element)
            else:
                root.insert(0, element)
            anchor = element
        self = cls(part=root, decimal_abstract=first_abstract + 1, next_num=max(num_ids, default=0) + 1)
        self.bullet_num = self._num(first_abstract, restart_level=None)
        return self

    def _num(self, abstract: int, restart_level: int | None) -> int:
        num_id = self.next_num
        self.next_num += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(num_id))
        ref = OxmlElement("w:abstractNumId")
        ref.set(qn("w:val"), str(abstract))
        num.append(ref)
        if restart_level is not None:
            override = OxmlElement("w:lvlOverride")
            override.set(qn("w:ilvl"), str(restart_level))
            start = OxmlElement("w:startOverride")
            start.set(qn("w:val"), "1")
            override.append(start)
            num.append(override)
        self.part.append(num)
        return num_id

    def numbered(self, level: int) -> int:
        """A new numbering instance that starts at 1 at ``level``."""
        return self._num(self.decimal_abstract, restart_level=level)


def _abstract(abstract_id: int, *, bullets: bool) -> Any:
    element = OxmlElement("w:abstractNum")
    element.set(qn("w:abstractNumId"), str(abstract_id))
    multi = OxmlElement("w:multiLevelType")
    multi.set(qn("w:val"), "hybridMultilevel")
    element.append(multi)
    for level in range(9):
        lvl = OxmlElement("w:lvl")
        lvl.set(qn("w:ilvl"), str(level))
        for tag, value in (
            ("w:start", "1"),
            ("w:numFmt", "bullet" if bullets else NUMBER_FORMATS[level % 3]),
            ("w:lvlText", BULLETS[level % 3] if bullets else f"%{level + 1}."),
            ("w:lvlJc", "left"),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            lvl.append(child)
        ppr = OxmlElement("w:pPr")
        ind = OxmlElement("w:ind")
        ind.set(qn("w:left"), str(360 * (level + 1)))
        ind.set(qn("w:hanging"), "360")
        ppr.append(ind)
        lvl.append(ppr)
        element.append(lvl)
    return element


@dataclass
class Format:
    """Inline formatting in effect while walking an element."""

    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None


@dataclass
class Writer:
    """Fills one Word document from one HTML tree."""

    doc: Any
    numbering: Numbering
    roots: tuple[Path, ...]
    bookmarks: dict[str, str] = field(default_factory=dict)
    styles: dict[str, Any] = field(default_factory=dict)  # style name -> python-docx style
    warned: set[str] = field(default_factory=set)
    next_bookmark: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    summary: bool = False
    break_pending: bool = False
    cache: dict[str, object] = field(default_factory=dict)

    # ----- styles and warnings -------------------------------------------------

    def style(self, name: str) -> str:
        """The style ``name`` if the reference has it, else its fallback (with one warning)."""
        wanted = name
        while name not in self.styles:
            fallback = FALLBACK.get(name, "Normal")
            if name == fallback:
                break
            name = fallback
        if name != wanted and wanted not in self.warned:
            self.warned.add(wanted)
            warn("reference document has no style %r; using %r", wanted, name)
        return name

    def unknown(self, element: Any) -> None:
        key = f"<{element.tag}>"
        if key not in self.warned:
            self.warned.add(key)
            warn("docx: element %s is not in the documented HTML set; its text is kept", key)

    # ----- paragraphs and runs --------------------------------------------------

    def set_style(self, paragraph: Any, name: str) -> str:
        """Give ``paragraph`` the style ``name`` (or its fallback) by id; return the name used.

        Setting the style id directly avoids python-docx's name lookup, which
        scans every style in the document on each call.
        """
        used = self.style(name)
        style = self.styles.get(used)
        if style is not None:
            paragraph._p.style = style.style_id
        return used

    def breaks_before(self, name: str) -> bool:
        """Whether style ``name`` (or a style it is based on) starts a new page; cached."""
        key = f"break:{name}"
        if key not in self.cache:
            self.cache[key] = _breaks_before(self.styles.get(name))
        return bool(self.cache[key])

    def paragraph(self, style: str) -> Any:
        paragraph = self.doc.add_paragraph()
        used = self.set_style(paragraph, style)
        level = HEADING_STYLES.get(style)
        if self.break_pending:
            self.break_pending = False
            if not self.breaks_before(used):
                paragraph.paragraph_format.page_break_before = True
        elif level == 1 and self.summary and self.breaks_before(used):
            paragraph.paragraph_format.page_break_before = False
        return paragraph

    def page_break(self) -> None:
        """Start the next paragraph on a new page (once, whatever its style says)."""
        self.break_pending = True

    def finish(self, paragraph: Any) -> None:
        """Trim the paragraph's outer spaces; remove it when nothing is left."""
        _trim(paragraph._p)
        p = paragraph._p
        has_content = bool(
            p.xpath("./w:fldSimple|./w:bookmarkStart")
            or any(t.text for t in p.xpath(".//w:t"))
            or p.xpath(".//w:drawing|.//w:br|.//w:fldChar")
        )
        if not has_content:
            p.getparent().remove(p)

    def text_run(self, paragraph: Any, text: str, fmt: Format) -> None:
        text = SPACES.sub(" ", clean(text))
        if not text:
            return
        if text.startswith(" ") and _ends_with_space(paragraph):
            text = text[1:]
            if not text:
                return
        if fmt.link:
            self.hyperlink(paragraph, text, fmt)
            return
        run = paragraph.add_run(text)
        run.bold = fmt.bold or None
        run.italic = fmt.italic or None
        if fmt.code:
            run.font.name = "Courier New"

    def hyperlink(self, paragraph: Any, text: str, fmt: Format) -> None:
        link = OxmlElement("w:hyperlink")
        target = fmt.link or ""
        if target.startswith("#"):
            link.set(qn("w:anchor"), self.bookmarks.get(target[1:], target[1:]))
        else:
            rid = paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True)
            link.set(qn("r:id"), rid)
        run = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        if "Hyperlink" in self.styles:
            rstyle = OxmlElement("w:rStyle")
            rstyle.set(qn("w:val"), self.styles["Hyperlink"].style_id)
            rpr.append(rstyle)
        if fmt.bold:
            rpr.append(OxmlElement("w:b"))
        if fmt.italic:
            rpr.append(OxmlElement("w:i"))
        run.append(rpr)
        t = OxmlElement("w:t")
        t.text = text
        t.set(qn("xml:space"), "preserve")
        run.append(t)
        link.append(run)
        paragraph._p.append(link)

    def inline(self, paragraph: Any, element: Any, fmt: Format) -> None:
        """Add the text and inline children of ``element`` to ``paragraph``."""
        if element.text:
            self.text_run(paragraph, element.text, fmt)
        for child in element:
            if not isinstance(child.tag, str):
                if child.tail:
                    self.text_run(paragraph, child.tail, fmt)
                continue
            self.inline_element(paragraph, child, fmt)
            if child.tail:
                self.text_run(paragraph, child.tail, fmt)

    def inline_element(self, paragraph: Any, child: Any, fmt: Format) -> None:
        tag = child.tag
        if tag in ("strong", "b"):
            self.inline(paragraph, child, Format(True, fmt.italic, fmt.code, fmt.link))
        elif tag in ("em", "i"):
            self.inline(paragraph, child, Format(fmt.bold, True, fmt.code, fmt.link))
        elif tag == "code":
            self.inline(paragraph, child, Format(fmt.bold, fmt.italic, True, fmt.link))
        elif tag == "br":
            paragraph.add_run().add_break()
        elif tag == "a":
            href = (child.get("href") or "").strip()
            if href.startswith("#") or href.lower().startswith(SAFE_LINKS):
                self.inline(paragraph, child, Format(fmt.bold, fmt.italic, fmt.code, href))
            else:
                if href:
                    warn(
                        "docx: link to %s kept as plain text: only http(s) and mailto links are allowed",
                        resources.shown(href),
                    )
                self.inline(paragraph, child, fmt)
        elif tag == "img":
            self.image(paragraph, child)
        elif tag in ("span", "sub", "sup"):
            self.inline(paragraph, child, fmt)
        else:
            self.unknown(child)
            self.inline(paragraph, child, fmt)

    # ----- blocks -----------------------------------------------------------------

    def blocks(self, element: Any, style: str = "Normal") -> None:
        """Walk block-level children of ``element``; loose text becomes a paragraph."""
        pending: Any = None
        if element.text and element.text.strip():
            pending = self.paragraph(style)
            self.text_run(pending, element.text, Format())
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag in INLINE:
                if pending is None:
                    pending = self.paragraph(style)
                self.inline_element(pending, child, Format())
            else:
                if pending is not None:
                    self.finish(pending)
                    pending = None
                self.block(child, style)
            if child.tail and child.tail.strip():
                if pending is None:
                    pending = self.paragraph(style)
                self.text_run(pending, child.tail, Format())
        if pending is not None:
            self.finish(pending)

    def block(self, element: Any, style: str) -> None:
        tag = element.tag
        classes = set((element.get("class") or "").split())
        if tag in HEADINGS:
            self.heading(element, HEADINGS[tag])
        elif tag == "p":
            name = next((PARAGRAPH_CLASSES[c] for c in classes if c in PARAGRAPH_CLASSES), style)
            paragraph = self.paragraph(name)
            self.inline(paragraph, element, Format())
            self.finish(paragraph)
        elif tag in ("ul", "ol"):
            self.list(element, 0, style)
        elif tag == "table":
            self.table(element)
        elif tag == "figure":
            self.figure(element)
        elif tag == "dl":
            self.definitions(element, "Cover Meta" if "cover-meta" in classes else style)
        elif tag == "blockquote":
            self.blocks(element, "Quote")
        elif tag == "header" and "cover" in classes:
            self.cover(element)
        elif tag == "nav" and "toc" in classes:
            self.toc(element)
        elif tag == "div" and "page-break" in classes:
            self.page_break()
        elif tag in CONTAINERS:
            inner = next(
                (CONTAINER_STYLES[c] for c in ("callout-actions", "callout", "colophon") if c in classes),
                style,
            )
            if "callout" in classes:
                self.keep_together(element, inner)
            else:
                self.blocks(element, inner)
        elif tag in ("figcaption",):
            paragraph = self.paragraph("Caption")
            self.inline(paragraph, element, Format())
            self.finish(paragraph)
        else:
            self.unknown(element)
            self.blocks(element, style)

    def keep_together(self, element: Any, style: str) -> None:
        """Write a callout and keep its paragraphs on one page."""
        from docx.text.paragraph import Paragraph

        body = self.doc.element.body
        before = len(body) - (1 if len(body) and body[-1].tag == qn("w:sectPr") else 0)
        self.blocks(element, style)
        added = [el for el in list(body)[before:] if el.tag == qn("w:p")]
        for p in added[:-1]:
            Paragraph(p, self.doc._body).paragraph_format.keep_with_next = True

    def bookmark_name(self, ident: str) -> str:
        if ident not in self.bookmarks:
            self.next_bookmark += 1
            self.bookmarks[ident] = f"_Toc{self.next_bookmark:08d}"
        return self.bookmarks[ident]

    def heading(self, element: Any, level: int) -> None:
        paragraph = self.paragraph(f"Heading {level}")
        ident = element.get("id")
        if ident:
            name = self.bookmark_name(ident)
            start = OxmlElement("w:bookmarkStart")
            start.set(qn("w:id"), name[4:].lstrip("0") or "0")
            start.set(qn("w:name"), name)
            paragraph._p.append(start)
        self.inline(paragraph, element, Format())
        if ident:
            end = OxmlElement("w:bookmarkEnd")
            end.set(qn("w:id"), name[4:].lstrip("0") or "0")
            paragraph._p.append(end)
        self.finish(paragraph)

    def list(self, element: Any, level: int, style: str) -> None:
        ordered = element.tag == "ol"
        num_id = self.numbering.numbered(level) if ordered else self.numbering.bullet_num
        item_style = style if style in CONTAINER_STYLES.values() else "List Paragraph"
        for item in element:
            if not isinstance(item.tag, str):
                continue
            if item.tag != "li":
                self.unknown(item)
                self.block(item, style)
                continue
            paragraph = self.paragraph(item_style)
            _number(paragraph, num_id, level, item_style in ("Callout", "Key Actions"))
            if item.text:
                self.text_run(paragraph, item.text, Format())
            for child in item:
                if not isinstance(child.tag, str):
                    continue
                if child.tag in ("ul", "ol"):
                    self.finish(paragraph)
                    self.list(child, level + 1, style)
                    paragraph = self.paragraph(item_style)
                    _indent_like_item(paragraph, level)
                elif child.tag == "p":
                    if paragraph.runs:
                        self.finish(paragraph)
                        paragraph = self.paragraph(item_style)
                        _indent_like_item(paragraph, level)
                    self.inline(paragraph, child, Format())
                elif child.tag in INLINE:
                    self.inline_element(paragraph, child, Format())
                else:
                    self.finish(paragraph)
                    self.block(child, style)
                    paragraph = self.paragraph(item_style)
                    _indent_like_item(paragraph, level)
                if child.tail:
                    self.text_run(paragraph, child.tail, Format())
            self.finish(paragraph)

    def table(self, element: Any) -> None:
        rows = [tr for tr in element.iter("tr")]
        if not rows:
            return
        width = max(len([c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]) for tr in rows)
        table = self.doc.add_table(rows=len(rows), cols=max(width, 1))
        if "Brief Table" in self.styles:
            table.style = self.styles["Brief Table"]
        else:
            table.style = self.styles[self.style("Table Grid")] if "Table Grid" in self.styles else None
            if "Brief Table" not in self.warned:
                self.warned.add("Brief Table")
                warn("reference document has no table style 'Brief Table'; using a plain table")
        for r, tr in enumerate(rows):
            row = table.rows[r]
            trpr = row._tr.get_or_add_trPr()
            trpr.append(OxmlElement("w:cantSplit"))
            if tr.getparent() is not None and tr.getparent().tag == "thead":
                trpr.append(OxmlElement("w:tblHeader"))
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            for c, cell_el in enumerate(cells):
                paragraph = row.cells[c].paragraphs[0]
                self.set_style(paragraph, "Table Heading" if cell_el.tag == "th" else "Table Text")
                self.inline(paragraph, cell_el, Format(bold=cell_el.tag == "th"))
                _trim(paragraph._p)

    def figure(self, element: Any) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "img":
                paragraph = self.paragraph("Normal")
                logo = "cover-logo" in (element.get("class") or "").split()
                self.image(paragraph, child, max_height=Cm(1.6) if logo else None)
                self.finish(paragraph)
            elif child.tag == "figcaption":
                self.block(child, "Caption")
            else:
                self.block(child, "Normal")

    def image(self, paragraph: Any, element: Any, max_height: int | None = None) -> None:
        src = element.get("src") or ""
        alt = clean(element.get("alt") or "").strip()
        if not alt:
            warn("image %s has no alternative text", resources.shown(src) or "(no src)")
        found = resources.fetch(src, self.roots, base=self.roots[-1]) if src else None
        if found is None:
            return
        data, mime = found
        if mime not in ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff"):
            warn("docx: image %s of type %s cannot be placed in Word; skipped", resources.shown(src), mime)
            return
        try:
            shape = paragraph.add_run().add_picture(io.BytesIO(data))
        except Exception as exc:  # python-docx raises several types for bad images
            warn("docx: image %s could not be read (%s); skipped", resources.shown(src), type(exc).__name__)
            return
        max_width = (
            self.doc.sections[0].page_width
            - self.doc.sections[0].left_margin
            - self.doc.sections[0].right_margin
        )
        if shape.width > max_width:
            ratio = max_width / shape.width
            shape.width, shape.height = Emu(int(max_width)), Emu(int(shape.height * ratio))
        if max_height is not None and shape.height > max_height:
            ratio = max_height / shape.height
            shape.width, shape.height = Emu(int(shape.width * ratio)), Emu(int(max_height))
        shape._inline.docPr.set("descr", alt)
        shape._inline.docPr.set("title", alt)

    def definitions(self, element: Any, style: str) -> None:
        term = None
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "dt":
                term = child
            elif child.tag == "dd":
                paragraph = self.paragraph(style)
                if term is not None:
                    self.inline(paragraph, term, Format(bold=True))
                    self.text_run(paragraph, ": ", Format())
                    term = None
                self.inline(paragraph, child, Format())
                self.finish(paragraph)
            else:
                self.unknown(child)
                self.block(child, style)

    def cover(self, element: Any) -> None:
        for child in element:
            if isinstance(child.tag, str):
                self.block(child, "Normal")
        self.page_break()

    def toc(self, element: Any) -> None:
        """A TOC field whose result already lists the entries, linked to the heading bookmarks."""
        title = element.find(".//p[@class='toc-title']")
        heading = self.paragraph("TOC Heading")
        heading.add_run(clean(title.text_content().strip()) if title is not None else "Contents")
        entries = [
            (int(li.get("class", "toc-level-1")[-1]), a.get("href", "")[1:], a.text_content())
            for li in element.iter("li")
            for a in li.findall("a")
        ]
        first = True
        for level, ident, text in entries:
            paragraph = self.paragraph(f"TOC {min(level, 2)}")
            if first:
                _field_char(paragraph, "begin")
                _instr(paragraph, ' TOC \\o "1-2" \\h \\z \\u ')
                _field_char(paragraph, "separate")
                first = False
            self.hyperlink(paragraph, SPACES.sub(" ", clean(text)).strip(), Format(link=f"#{ident}"))
            paragraph.add_run("\t")
            _field_char(paragraph, "begin")
            _instr(paragraph, f" PAGEREF {self.bookmark_name(ident)} \\h ")
            _field_char(paragraph, "separate")
            if ident in self.pages:
                paragraph.add_run(str(self.pages[ident]))
            _field_char(paragraph, "end")
        if entries:
            end = self.doc.add_paragraph()
            self.set_style(end, "Normal")
            _field_char(end, "end")
        self.page_break()


def _breaks_before(style: Any) -> bool:
    """Whether a paragraph style (or a style it is based on) starts a new page."""
    while style is not None:
        value = style.paragraph_format.page_break_before
        if value is not None:
            return bool(value)
        style = style.base_style
    return False


def _trim(p: Any) -> None:
    """Strip spaces at the start of the first and the end of the last text of a paragraph.

    Works on ``w:t`` elements (links included) so pictures in the same runs stay.
    """
    texts = p.xpath(".//w:t")
    if texts:
        texts[0].text = (texts[0].text or "").lstrip(" ")
        texts[-1].text = (texts[-1].text or "").rstrip(" ")


def _ends_with_space(paragraph: Any) -> bool:
    texts = paragraph._p.xpath(".//w:t")
    return not texts or not texts[-1].text or texts[-1].text.endswith(" ")


def _number(paragraph: Any, num_id: int, level: int, in_box: bool) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    numpr = OxmlElement("w:numPr")
    ilvl = OxmlElement("w:ilvl")
    ilvl.set(qn("w:val"), str(level))
    num = OxmlElement("w:numId")
    num.set(qn("w:val"), str(num_id))
    numpr.append(ilvl)
    numpr.append(num)
    ppr.insert_element_before(numpr, "w:pBdr", "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr")
    paragraph.paragraph_format.left_indent = Cm(0.635 * (level + 1) + (0.3 if in_box else 0))
    paragraph.paragraph_format.first_line_indent = Cm(-0.635)


def _indent_like_item(paragraph: Any, level: int) -> None:
    paragraph.paragraph_format.left_indent = Cm(0.635 * (level + 1))


def _field_char(paragraph: Any, kind: str) -> None:
    run = paragraph.add_run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        char.set(qn("w:dirty"), "true")
    run._r.append(char)


def _instr(paragraph: Any, text: str) -> None:
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = text
    run._r.append(instr)


def _simple_field(paragraph: Any, instruction: str, shown: str) -> None:
    _field_char(paragraph, "begin")
    _instr(paragraph, f" {instruction} ")
    _field_char(paragraph, "separate")
    paragraph.add_run(shown)
    _field_char(paragraph, "end")


def _header_is_empty(part: Any) -> bool:
    return (
        not part.is_linked_to_previous
        and not "".join(p.text for p in part.paragraphs).strip()
        and not part._element.xpath(".//w:drawing|.//w:pict|.//w:fldSimple|.//w:instrText")
    )


def apply_theme(doc: Any, theme: Any) -> None:
    """Recolour and refont the styles: the house colours and fonts become the theme's."""
    colours = theme.word_colours()
    fonts = {k: v for k, v in theme.word_fonts().items() if k != v}
    if not colours and not fonts:
        return
    colour_attrs = [qn("w:val"), qn("w:fill"), qn("w:color")]
    font_attrs = [qn(f"w:{a}") for a in ("ascii", "hAnsi", "cs", "eastAsia")]
    for element in doc.styles.element.iter():
        tag = element.tag
        if tag in (qn("w:color"), qn("w:shd"), qn("w:top"), qn("w:bottom"), qn("w:left"), qn("w:right")):
            for attr in colour_attrs:
                value = element.get(attr)
                if value and value.upper() in colours:
                    element.set(attr, colours[value.upper()])
        elif tag == qn("w:rFonts"):
            for attr in font_attrs:
                value = element.get(attr)
                if value in fonts:
                    element.set(attr, fonts[value])


def _header_logo(paragraph: Any, theme: Any) -> None:
    """Add the theme's PNG or JPEG logo to a header paragraph."""
    if theme is None or not theme.logo_url or theme.logo_type not in ("image/png", "image/jpeg"):
        if theme is not None and theme.logo_url:
            warn("theme logo is %s: Word takes PNG or JPEG, so the Word header has no logo", theme.logo_type)
        return
    found = resources.data_url(theme.logo_url)
    if found is None:
        return
    run = paragraph.add_run()
    picture = run.add_picture(io.BytesIO(found[0]), height=Cm(0.8))
    picture._inline.docPr.set("descr", f"{theme.organisation or theme.name} logo")
    run.add_text("  ")


def headers_and_footers(writer: Writer, title: str, theme: Any = None) -> None:
    """Title in the header, page X of Y in the footer; none on the cover. A reference's own are kept."""
    section = writer.doc.sections[0]
    section.different_first_page_header_footer = True
    header = section.header
    if header.is_linked_to_previous or _header_is_empty(header):
        paragraph = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        writer.set_style(paragraph, "Header")
        _header_logo(paragraph, theme)
        paragraph.add_run(clean(title))
    footer = section.footer
    if footer.is_linked_to_previous or _header_is_empty(footer):
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        writer.set_style(paragraph, "Footer")
        paragraph.alignment = 2  # right
        if theme is not None and theme.footer:
            paragraph.add_run(clean(theme.footer) + "    ")
        paragraph.add_run("Page ")
        _simple_field(paragraph, "PAGE", "1")
        paragraph.add_run(" of ")
        _simple_field(paragraph, "NUMPAGES", "1")
    section.first_page_header.is_linked_to_previous = False
    section.first_page_footer.is_linked_to_previous = False


SETTINGS_AFTER_UPDATE = (
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)


def update_fields_on_open(doc: Any) -> None:
    """Ask Word to refresh the TOC and page fields when the file is opened."""
    settings = doc.settings.element
    for old in settings.findall(qn("w:updateFields")):
        settings.remove(old)
    for old in settings.findall(qn("w:attachedTemplate")):
        settings.remove(old)
    flag = OxmlElement("w:updateFields")
    flag.set(qn("w:val"), "true")
    successor = next(
        (
            child
            for child in settings
            if isinstance(child.tag, str) and child.tag.split("}")[-1] in SETTINGS_AFTER_UPDATE
        ),
        None,
    )
    if successor is not None:
        successor.addprevious(flag)
    else:
        settings.append(flag)


def set_language(doc: Any, language: str) -> None:
    """Set the proofing language of the default run properties."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        return
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if rpr is None:
        return
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), language)
    rpr.append(lang)


def _limit(text: str, sep: str = " ", size: int = 255) -> str:
    """Shorten ``text`` to Word's 255-character property limit at a separator."""
    if len(text) <= size:
        return text
    return text[:size].rsplit(sep, 1)[0].rstrip(" ,;")


def properties(doc: Any, tree: Any, document: Rendered, epoch: int | None) -> None:
    def meta(name: str) -> str:
        found = tree.find(f".//meta[@name='{name}']")
        return clean(found.get("content", "")) if found is not None else ""

    props = doc.core_properties
    props.title = _limit(clean(document.title))
    props.subject = _limit(meta("description"))
    props.author = _limit(meta("author"))
    props.keywords = _limit(meta("keywords"), sep=", ")
    props.language = document.language
    props.category = "Briefing"
    props.comments = "Generated by briefgen."
    props.last_modified_by = "briefgen"
    props.revision = 1
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    props.created = props.modified = moment.replace(microsecond=0, tzinfo=None)


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Fill a copy of the reference document from ``document``; return .docx bytes.

    With ``docx_refresh``, LibreOffice lays the file out once and the contents
    page is written again with the real page numbers.
    """
    import lxml.html

    tree = lxml.html.document_fromstring(clean(document.html))
    data = _build(tree, document, options, pages={})
    if options.docx_refresh:
        from ..office import page_numbers

        headings = [
            (h.get("id"), " ".join(h.text_content().split())) for h in tree.iter("h1", "h2") if h.get("id")
        ]
        pages = page_numbers(data, headings)
        if pages:
            data = _build(tree, document, options, pages=pages)
    return data


def _build(tree: Any, document: Rendered, options: WriteOptions, pages: dict[str, int]) -> bytes:
    doc = open_reference(reference_source(options))
    if options.theme is not None:
        apply_theme(doc, options.theme)
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _drop_unused(doc)
    writer = Writer(
        doc=doc,
        numbering=Numbering.install(doc),
        roots=template_dirs(options.templates),
        styles={s.name: s for s in doc.styles},
        pages=pages,
        summary="length-summary" in (tree.find("body").get("class") or "").split()
        if tree.find("body") is not None
        else False,
    )
    for ident in (h.get("id") for h in tree.iter("h1", "h2", "h3")):
        if ident:
            writer.bookmark_name(ident)
    body_el = tree.find("body")
    writer.blocks(body_el if body_el is not None else tree)
    headers_and_footers(writer, _running_title(tree, document), options.theme)
    update_fields_on_open(doc)
    set_language(doc, document.language)
    properties(doc, tree, document, options.source_date_epoch)
    buffer = io.BytesIO()
    doc.save(buffer)
    parts = unpack(buffer.getvalue())
    check_written(parts)
    return pack(parts, options.source_date_epoch)


def _running_title(tree: Any, document: Rendered) -> str:
    kicker = tree.find(".//p[@class='cover-kicker']")
    return " ".join(kicker.text_content().split()) if kicker is not None else document.title
