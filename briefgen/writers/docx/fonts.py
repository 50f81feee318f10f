"""Turn the shipped fonts into font parts of a Word brief, embedded as Word embeds them.

The PDF is set in "Brief Sans" and "Brief Serif" (subsets of Noto Sans and Noto Serif, four faces
each) with "Brief Fallback" for arrows, ≤ ≥ and ✓ ✗ (``templates/fonts``, OFL). The Word brief
names the same families in its styles (``templates/reference.docx``) and carries the faces it
uses, so Word and LibreOffice lay it out in the PDF's fonts on any machine:

* each face is an obfuscated font part (ECMA-376 Part 1 §17.8.1: the first 32 bytes XORed with
  the bytes of a GUID in reverse order; content type ``application/vnd.openxmlformats-
  officedocument.obfuscatedFont``), related to the font table, whose ``w:font`` entry names it
  with ``w:embedRegular`` / ``w:embedBold`` / ``w:embedItalic`` / ``w:embedBoldItalic`` (``r:id``
  and ``w:fontKey``); ``w:embedTrueTypeFonts`` in the settings;
* the Noto faces are embedded renamed "Brief Sans" and "Brief Serif" (name table: family, full
  and PostScript names), the names the PDF shows, so no font installed on a reader's machine
  can stand in for them;
* only the faces the brief uses (each run's font, bold and italic, from its direct formatting
  and its character, paragraph and table styles) are embedded, whole: a face's bytes never
  depend on the text, so the stamped briefs of a batch stay byte-identical to briefs written
  whole. The GUID is derived from the face's bytes, so two builds give the same file;
* characters the text faces lack and Brief Fallback has (→, ≤, ✓) go into runs of their own
  set in Brief Fallback, as the PDF's font-family stack does;
* only these shipped OFL fonts are embedded: a theme or reference document naming any other
  font gets no font part for it (licences). ``--no-embed-fonts`` writes no font part and no
  embedding flag, and names the public families the subsets come from ("Noto Sans",
  "Noto Serif") instead, which a reader may have installed.

:func:`prepare` works on the python-docx document before it is saved, :meth:`Fonts.embed` on
the saved package's members.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from ...paths import builtin_templates
from .faces import FONT_SLOTS, W_RFONTS, Usage

#: The families briefgen ships, as Word names them -> the file stem of their faces.
SHIPPED = {"Brief Sans": "NotoSans", "Brief Serif": "NotoSerif", "Brief Fallback": "BriefFallback"}
#: The family each shipped face was cut from (what it is called inside the original font file).
ORIGINAL = {"Brief Sans": "Noto Sans", "Brief Serif": "Noto Serif"}
#: What ``--no-embed-fonts`` names instead: the public families the subsets come from.
PUBLIC = ORIGINAL
FALLBACK = "Brief Fallback"
#: Word's generic family of each shipped family (w:family), used when a font is missing.
GENERIC = {"Brief Sans": "swiss", "Brief Serif": "roman", "Brief Fallback": "auto"}
#: Faces in the order of the font table's embed elements (CT_Font).
STYLES = ("Regular", "Bold", "Italic", "BoldItalic")

OBFUSCATED_FONT = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
FONT_TABLE_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"
FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
FONT_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
R_ID = qn("r:id")

W_FONT, W_NAME = qn("w:font"), qn("w:name")
#: Settings that say how Word embeds fonts when it saves; briefgen decides them.
EMBED_SETTINGS = tuple(
    qn(f"w:{name}") for name in ("embedTrueTypeFonts", "embedSystemFonts", "saveSubsetFonts")
)
#: The elements before ``w:embedTrueTypeFonts`` in ``w:settings`` (ECMA-376 CT_Settings order).
BEFORE_EMBED = frozenset(
    qn(f"w:{name}")
    for name in (
        "writeProtection", "view", "zoom", "removePersonalInformation", "removeDateAndTime",
        "doNotDisplayPageBoundaries", "displayBackgroundShape", "printPostScriptOverText",
        "printFractionalCharacterWidth", "printFormsData",
    )
)  # fmt: skip
STORIES = ("header+xml", "footer+xml", "footnotes+xml", "endnotes+xml")


# ----- the shipped faces ---------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    """One shipped face as a Word brief carries it: the TrueType bytes (renamed) and its key."""

    family: str
    style: str
    data: bytes

    @functools.cached_property
    def key(self) -> str:
        """The font key: a GUID derived from the bytes, so every build gives the same one."""
        digest = hashlib.sha256(self.data).digest()
        return "{" + str(uuid.UUID(bytes=digest[:16], version=4)).upper() + "}"

    @functools.cached_property
    def obfuscated(self) -> bytes:
        return obfuscate(self.data, self.key)


def obfuscate(data: bytes, key: str) -> bytes:
    """XOR the first 32 bytes of ``data`` with the GUID ``key``'s 16 bytes in reverse order (its own
    inverse: it de-obfuscates as well)."""
    guid = bytes.fromhex(key.strip("{}").replace("-", ""))
    if len(guid) != 16:
        raise ValueError(f"not a font key: {key!r}")
    mask = guid[::-1] * 2
    head = bytes(a ^ b for a, b in zip(data[:32], mask, strict=False))
    return head + data[32:]


def font_file(family: str, style: str) -> Any:
    """The shipped file of a face (it may not exist: Brief Fallback has Regular only)."""
    return builtin_templates() / "fonts" / f"{SHIPPED[family]}-{style}.ttf"


@functools.lru_cache(maxsize=16)
def face(family: str, style: str) -> Face | None:
    """The shipped face ``family`` ``style`` renamed to ``family``; None if briefgen ships no such face."""
    path = font_file(family, style)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if family in ORIGINAL:
        data = _renamed(data, ORIGINAL[family], family)
    return Face(family, style, data)


def _renamed(data: bytes, old: str, new: str) -> bytes:
    """``data`` with ``old`` as family, full, unique and PostScript name replaced by ``new``."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
    swaps = ((old, new), (old.replace(" ", ""), new.replace(" ", "")))
    for record in font["name"].names:
        if record.nameID in (1, 3, 4, 6, 16, 21):
            text = record.toUnicode()
            for before, after in swaps:
                text = text.replace(before, after)
            record.string = text
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.lru_cache(maxsize=8)
def _font_info(family: str) -> tuple[frozenset[str], dict[str, str]]:
    """The characters of ``family``'s Regular face (every face of a text family has the same ones,
    tests/test_docx_fonts.py checks) and its font table properties (panose, signature)."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_file(family, "Regular")), lazy=True)
    chars = frozenset(chr(code) for code in font["cmap"].getBestCmap())
    os2 = font["OS/2"]
    panose = os2.panose
    digits = (
        "bFamilyType", "bSerifStyle", "bWeight", "bProportion", "bContrast",
        "bStrokeVariation", "bArmStyle", "bLetterForm", "bMidline", "bXHeight",
    )  # fmt: skip
    info = {
        "panose": "".join(f"{getattr(panose, d):02X}" for d in digits),
        "usb0": f"{os2.ulUnicodeRange1:08X}",
        "usb1": f"{os2.ulUnicodeRange2:08X}",
        "usb2": f"{os2.ulUnicodeRange3:08X}",
        "usb3": f"{os2.ulUnicodeRange4:08X}",
        "csb0": f"{getattr(os2, 'ulCodePageRange1', 0):08X}",
        "csb1": f"{getattr(os2, 'ulCodePageRange2', 0):08X}",
    }
    return chars, info


@functools.lru_cache(maxsize=4)
def needs_fallback(family: str) -> frozenset[str]:
    """The characters Brief Fallback has and the text family ``family`` lacks."""
    return _font_info(FALLBACK)[0] - _font_info(family)[0]


def set_apart(text: str) -> bool:
    """Whether the Word writer would set some of ``text`` in a run of its own (Brief Fallback). A
    batch may stamp a value into a placeholder brief only when not: the placeholder's runs are
    not split for the value's characters (:mod:`.stamp`)."""
    return any(not needs_fallback(family).isdisjoint(text) for family in ORIGINAL)


def table_entry(root: Any, name: str, family: str, embeds: list[tuple[str, str, str]] = ()) -> Any:
    """A ``w:font`` entry (made with ``root``'s factory) describing the shipped ``family`` under
    ``name``, with ``embeds`` as (style, relationship id, font key)."""
    info = _font_info(family)[1]
    entry = root.makeelement(W_FONT, {W_NAME: name})

    def child(tag: str, **attributes: str) -> None:
        etree.SubElement(entry, qn(f"w:{tag}"), {qn(f"w:{k}"): v for k, v in attributes.items()})

    if name == family and family in ORIGINAL:
        child("altName", val=ORIGINAL[family])
    child("panose1", val=info["panose"])
    child("charset", val="00")
    child("family", val=GENERIC[family])
    child("pitch", val="variable")
    child("sig", **{k: info[k] for k in ("usb0", "usb1", "usb2", "usb3", "csb0", "csb1")})
    for style, rid, key in embeds:
        element = etree.SubElement(entry, qn(f"w:embed{style}"))
        element.set(R_ID, rid)
        element.set(qn("w:fontKey"), key)
    return entry


def _stories(doc: Any) -> list[Any]:
    """The roots of the parts that hold text: the body, headers, footers, notes."""
    roots = [doc.element]
    for part in doc.part.package.iter_parts():
        element = getattr(part, "_element", None)
        if element is not None and part.content_type.endswith(STORIES):
            roots.append(element)
    return roots


def _rename_fonts(root: Any, names: dict[str, str]) -> None:
    for rfonts in root.iter(W_RFONTS):
        for slot in FONT_SLOTS:
            value = rfonts.get(qn(f"w:{slot}"))
            if value in names:
                rfonts.set(qn(f"w:{slot}"), names[value])


def _settings(settings: Any, embed: bool) -> None:
    """Set ``w:embedTrueTypeFonts`` (when embedding) and drop the reference's own embedding flags."""
    for element in [e for e in settings if e.tag in EMBED_SETTINGS]:
        settings.remove(element)
    if not embed:
        return
    flag = OxmlElement("w:embedTrueTypeFonts")
    before = [e for e in settings if e.tag in BEFORE_EMBED]
    if before:
        before[-1].addnext(flag)
    else:
        settings.insert(0, flag)


# ----- the two hooks -------------------------------------------------------------------------


@dataclass
class Fonts:
    """The fonts of one Word brief: the shipped faces it embeds, or (``public``) none, with the
    public family names in the font table."""

    faces: list[Face] = field(default_factory=list)
    public: bool = False

    def embed(self, parts: dict[str, bytes]) -> None:
        """Add the font parts, their relationships and content type, and the font table's entries."""
        if not self.faces and not self.public:
            return
        table = _font_table(parts)
        root = etree.fromstring(parts[table])
        if self.public:  # the shipped names become the public ones; nothing names Brief Fallback
            for entry in [e for e in root.iter(W_FONT) if e.get(W_NAME) in SHIPPED]:
                if entry.get(W_NAME) in PUBLIC:
                    entry.addprevious(table_entry(root, PUBLIC[entry.get(W_NAME)], entry.get(W_NAME)))
                entry.getparent().remove(entry)
            parts[table] = _xml(root)
            return
        folder, base = posixpath.split(table)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name in parts:
            rels = etree.fromstring(parts[rels_name])
            for rel in [r for r in rels if r.get("Type") == FONT_REL]:
                rels.remove(rel)
        else:
            rels = etree.Element(f"{{{RELS_NS}}}Relationships", nsmap={None: RELS_NS})
        taken = {r.get("Id") for r in rels}
        embeds: dict[str, list[tuple[str, str, str]]] = {}
        number = 0
        for item in self.faces:
            number += 1
            while posixpath.join(folder, f"fonts/font{number}.odttf") in parts:
                number += 1
            target = f"fonts/font{number}.odttf"
            rid = _fresh(f"rIdFont{number}", taken)
            parts[posixpath.join(folder, target)] = item.obfuscated
            etree.SubElement(
                rels, f"{{{RELS_NS}}}Relationship", {"Id": rid, "Type": FONT_REL, "Target": target}
            )
            embeds.setdefault(item.family, []).append((item.style, rid, item.key))
        for family, found in embeds.items():
            old = [e for e in root.iter(W_FONT) if e.get(W_NAME) == family]
            entry = table_entry(root, family, family, found)
            if old:
                old[0].addprevious(entry)
            else:
                root.append(entry)
            for element in old:
                element.getparent().remove(element)
        parts[table] = _xml(root)
        parts[rels_name] = _xml(rels)
        types = etree.fromstring(parts["[Content_Types].xml"])
        defaults = types.iter(f"{{{TYPES_NS}}}Default")
        if not any(d.get("Extension", "").lower() == "odttf" for d in defaults):
            entry = types.makeelement(
                f"{{{TYPES_NS}}}Default", {"Extension": "odttf", "ContentType": OBFUSCATED_FONT}
            )
            types.insert(0, entry)
            parts["[Content_Types].xml"] = _xml(types)


def prepare(doc: Any, embed: bool) -> Fonts:
    """Before the document is saved: find the shipped faces its runs use, set the fallback runs
    and the settings (embedding), or name the public families (not embedding)."""
    settings = doc.settings.element
    if not embed:
        _rename_fonts(doc.styles.element, PUBLIC)
        _settings(settings, embed=False)
        return Fonts(public=True)
    needs = {family: needs_fallback(family) for family in ORIGINAL}
    usage = Usage(doc.styles.element, SHIPPED, FALLBACK, needs)
    for root in _stories(doc):
        usage.scan(root)
    order = {key: n for n, key in enumerate(itertools.product(SHIPPED, STYLES))}
    faces = [found for key in sorted(usage.faces, key=order.__getitem__) if (found := face(*key))]
    _settings(settings, embed=bool(faces))
    return Fonts(faces)


def _fresh(rid: str, taken: set[str]) -> str:
    while rid in taken:
        rid += "x"
    taken.add(rid)
    return rid


def _xml(root: Any) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", standalone=True)


def _target(source: str, rel: Any) -> str:
    """The member a relationship of the part ``source`` points to."""
    target = rel.get("Target", "")
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target)).lstrip("/")


def _rels_of(name: str) -> str:
    folder, base = posixpath.split(name)
    return posixpath.join(folder, "_rels", base + ".rels")


def _font_table(parts: dict[str, bytes]) -> str:
    """The font table's member name; one is added (with its relationship and type) if missing."""
    package = etree.fromstring(parts["_rels/.rels"])
    main = next(
        (_target("", r) for r in package if r.get("Type", "").endswith("/officeDocument")),
        "word/document.xml",
    )
    rels_name = _rels_of(main)
    rels = etree.fromstring(parts[rels_name])
    for rel in rels:
        internal = rel.get("TargetMode", "Internal") == "Internal"
        if rel.get("Type") == FONT_TABLE_REL and internal and (name := _target(main, rel)) in parts:
            return name
    name = posixpath.join(posixpath.dirname(main), "fontTable.xml")
    rid = _fresh("rIdFontTable", {r.get("Id") for r in rels})
    etree.SubElement(
        rels, f"{{{RELS_NS}}}Relationship", {"Id": rid, "Type": FONT_TABLE_REL, "Target": "fontTable.xml"}
    )
    parts[rels_name] = _xml(rels)
    w, r = "http://schemas.openxmlformats.org/wordprocessingml/2006/main", R_ID[1:].split("}")[0]
    parts[name] = _xml(etree.Element(f"{{{w}}}fonts", nsmap={"w": w, "r": r}))
    types = etree.fromstring(parts["[Content_Types].xml"])
    override = {"PartName": "/" + name, "ContentType": FONT_TABLE_TYPE}
    types.append(types.makeelement(f"{{{TYPES_NS}}}Override", override))
    parts["[Content_Types].xml"] = _xml(types)
    return name
