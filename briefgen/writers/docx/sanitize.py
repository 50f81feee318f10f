"""Turn a reference document's zip members into members that fetch nothing and run nothing.

Every part is looked at, whether a relationship reaches it or not: fields that fetch (simple
and complex, split over runs or nested) are removed from every XML part, unsafe HYPERLINK
fields become plain text, mail-merge data sources go, and the relationships of every part lose
their external targets and embedded objects. :func:`check_written` is the last look at a brief
briefgen wrote: no external relationship but http(s) and mailto links.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from docx.oxml.ns import qn
from lxml import etree

from ... import resources
from ...errors import RenderError
from ...safe import escape_controls, safe_link
from ...unpack import Refused

# Tags and attributes ("<" and "=") in a reference's XML parts: parsed, each costs lxml about 200 bytes.
MAX_REFERENCE_MARKUP = 1_000_000
XML_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"}
XML_DECLARATION = re.compile(r"""\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
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
# A reference's own fonts never reach a brief: briefgen embeds only the fonts it ships (fonts.py).
W_FONT_EMBEDS = tuple(qn(f"w:embed{style}") for style in ("Regular", "Bold", "Italic", "BoldItalic"))
FONT_EXTENSIONS = frozenset({"odttf", "ttf", "otf", "ttc", "fntdata", "eot", "woff", "woff2"})


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
        if target is not None and not safe_link(target):
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
        self.notes.append(escape_controls(text))

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
            self.clean_font_embeds(name)
            if name not in self.changed and not RELS_MEMBER.search(name):
                del self.trees[name]  # parsed again only if one of its relationships is dropped
        self.drop_fonts()
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

    # ----- fonts -----------------------------------------------------------------------------

    def is_font(self, name: str) -> bool:
        """Whether the member ``name`` is a font (by its content type or its extension)."""
        if RELS_MEMBER.search(name) or self.is_xml(name):
            return False
        extension = posixpath.splitext(name)[1][1:].lower()
        kind = (self.overrides.get(name.lower()) or self.defaults.get(extension, "")).lower()
        return extension in FONT_EXTENSIONS or "font" in kind or "opentype" in kind

    def clean_font_embeds(self, name: str) -> None:
        """Remove the font table's embed elements (w:embedRegular...): their fonts are dropped."""
        root = self.tree(name)
        embeds = list(root.iter(*W_FONT_EMBEDS))
        if not embeds:
            return
        if any(e is root for e in embeds):
            raise Refused(f"part {name} is a font embedding")
        for element in embeds:
            _remove(element)
        self.changed.add(name)
        self.note(
            "removed %d embedded font(s) from %s: briefgen embeds only the fonts it ships", len(embeds), name
        )

    def drop_fonts(self) -> None:
        """Remove every font part (obfuscated or not) and its content type override."""
        fonts = sorted(name for name in self.parts if self.is_font(name))
        if not fonts:
            return
        for name in fonts:
            del self.parts[name]
            self.trees.pop(name, None)
        self.note("removed font part(s) %s: briefgen embeds only the fonts it ships", ", ".join(fonts))
        if "[Content_Types].xml" in self.parts:
            types = self.tree("[Content_Types].xml")
            gone = {name.lower() for name in fonts}
            for entry in list(types):
                if not isinstance(entry.tag, str) or not entry.tag.endswith("}Override"):
                    continue
                if entry.get("PartName", "").lstrip("/").lower() in gone:
                    types.remove(entry)
                    self.changed.add("[Content_Types].xml")

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
                if _kind(reltype) == "hyperlink" and safe_link(target):
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
            elif _kind(reltype) == "font":  # its part went with drop_fonts
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
                    if _kind(rel.get("Type", "")) != "hyperlink" or not safe_link(rel.get("Target", "")):
                        raise Refused(f"{name} keeps an external relationship to {rel.get('Target')}")
        for name, root in self.trees.items():
            if _fetching(root):
                raise Refused(f"part {name} keeps a field that fetches")
        if any(self.is_font(name) for name in self.parts):
            raise Refused("it keeps a font part")


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
                if _kind(rel.get("Type", "")) != "hyperlink" or not safe_link(target):
                    raise RenderError(
                        f"Word document: {name} would refer to {resources.shown(target)}; not written"
                    )
