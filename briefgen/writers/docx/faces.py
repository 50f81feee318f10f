"""Turn the runs of a Word document into the faces they are drawn in, and the characters a font
lacks into runs of a fallback font.

A run's face is its font (the Latin slots ``w:ascii`` and ``w:hAnsi``), bold and italic, taken from
its direct formatting, then its character style, its paragraph style, its table style (with the
conditional formats of the row and column it sits in) and the document defaults, each through
its ``w:basedOn`` chain. Bold and italic set by more than one kind of style toggle in Word and
not in LibreOffice, so both outcomes count: the set errs towards a face too many, never one too
few. :mod:`.fonts` embeds the shipped faces this finds.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

STYLE_OF = {
    (False, False): "Regular",
    (True, False): "Bold",
    (False, True): "Italic",
    (True, True): "BoldItalic",
}
W_P, W_R, W_T, W_TAB, W_TBL = qn("w:p"), qn("w:r"), qn("w:t"), qn("w:tab"), qn("w:tbl")
W_TR, W_TC = qn("w:tr"), qn("w:tc")
W_RPR, W_PPR, W_TBLPR, W_RFONTS = qn("w:rPr"), qn("w:pPr"), qn("w:tblPr"), qn("w:rFonts")
W_B, W_I, W_VAL = qn("w:b"), qn("w:i"), qn("w:val")
W_STYLE, W_STYLE_ID, W_TYPE, W_DEFAULT = qn("w:style"), qn("w:styleId"), qn("w:type"), qn("w:default")
W_BASED_ON, W_TBL_STYLE_PR = qn("w:basedOn"), qn("w:tblStylePr")
W_P_STYLE, W_R_STYLE, W_TBL_STYLE = qn("w:pStyle"), qn("w:rStyle"), qn("w:tblStyle")
STYLE_REFS = {W_P_STYLE: "paragraph", W_R_STYLE: "character", W_TBL_STYLE: "table"}
LOOK_TAGS = frozenset({W_R_STYLE, W_RFONTS, W_B, W_I})
FONT_SLOTS = ("ascii", "hAnsi", "cs", "eastAsia")
NONE: frozenset[str] = frozenset()
THEME = ""  # a font slot set to a theme font (asciiTheme...): never one of the families looked for
#: (styles part's digest, families, fallback) -> the styles' looks and the runs' faces found with
#: them, kept for the process: every brief written with the same reference resolves a kind of run once
RESOLVED: dict[tuple[Any, ...], tuple[dict[Any, Any], dict[Any, Any]]] = {}
RESOLVED_KEPT = 16


def _flag(rpr: Any, tag: str) -> bool | None:
    element = rpr.find(tag) if rpr is not None else None
    if element is None:
        return None
    return element.get(W_VAL) not in ("0", "false", "off")


def _slot(rfonts: Any, slot: str) -> str | None:
    if rfonts is None:
        return None
    if rfonts.get(qn(f"w:{slot}Theme")) is not None:
        return THEME
    return rfonts.get(qn(f"w:{slot}"))


@dataclass(frozen=True)
class Look:
    """The run properties that choose a face: the Latin font slots, bold and italic (None: not set)."""

    ascii: str | None = None
    hansi: str | None = None
    bold: bool | None = None
    italic: bool | None = None
    #: a table style's conditional formats (w:tblStylePr) that make text bold or italic, by type
    bold_in: frozenset[str] = frozenset()
    italic_in: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rpr: Any) -> Look:
        if rpr is None:
            return cls()
        rfonts = rpr.find(W_RFONTS)
        return cls(_slot(rfonts, "ascii"), _slot(rfonts, "hAnsi"), _flag(rpr, W_B), _flag(rpr, W_I))


def _merge(looks: list[Look]) -> Look:
    """The first value set along a style chain (the most derived style first)."""
    return Look(
        next((look.ascii for look in looks if look.ascii is not None), None),
        next((look.hansi for look in looks if look.hansi is not None), None),
        next((look.bold for look in looks if look.bold is not None), None),
        next((look.italic for look in looks if look.italic is not None), None),
        frozenset().union(*(look.bold_in for look in looks)),
        frozenset().union(*(look.italic_in for look in looks)),
    )


def _states(direct: bool | None, styled: list[bool | None], default: bool | None, extra: bool) -> set[bool]:
    """Whether text is bold (or italic): direct formatting wins; a property set by more than one
    kind of style is a toggle in Word (set twice: off) and not in LibreOffice, so both count."""
    if direct is not None:
        return {direct}
    values = [v for v in styled if v is not None]
    states = {values[0], functools.reduce(lambda a, b: a != b, values)} if values else {bool(default)}
    return states | {True} if extra else states


class Usage:
    """The faces of ``families`` the runs of a document use; puts the characters a family lacks
    into runs of ``fallback``."""

    def __init__(
        self,
        styles: Any,
        families: Collection[str],
        fallback: str | None = None,
        needs: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.families = frozenset(families)  # the font names whose faces count
        self.fallback = fallback  # the font characters a family lacks go to, if any
        self.needs = needs or {}  # family -> the characters it lacks and ``fallback`` has
        self.faces: set[tuple[str, str]] = set()
        self.by_id: dict[str, Any] = {}
        self.defaults: dict[str, str] = {}
        for style in styles.iter(W_STYLE):
            ident = style.get(W_STYLE_ID)
            if ident is not None and ident not in self.by_id:
                self.by_id[ident] = style
                if style.get(W_DEFAULT) in ("1", "true", "on"):
                    self.defaults.setdefault(style.get(W_TYPE) or "paragraph", ident)
        rpr = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{W_RPR}")
        self.base = Look.of(rpr)
        digest = hashlib.blake2b(etree.tostring(styles), digest_size=16).digest()
        key = (digest, self.families, fallback)
        if key not in RESOLVED:
            if len(RESOLVED) >= RESOLVED_KEPT:
                RESOLVED.pop(next(iter(RESOLVED)))
            RESOLVED[key] = ({}, {})
        self.looks: dict[str | None, Look]
        self.runs: dict[tuple[Any, ...], tuple[set[tuple[str, str]], str | None]]
        self.looks, self.runs = RESOLVED[key]

    def style(self, ident: str | None) -> Look:
        """The run properties style ``ident`` gives, through its basedOn chain."""
        if ident not in self.looks:
            chain: list[Look] = []
            seen: set[str] = set()
            current = ident
            while current is not None and current not in seen and len(chain) < 64:
                element = self.by_id.get(current)
                if element is None:
                    break
                seen.add(current)
                look = Look.of(element.find(W_RPR))
                conditional = [(c.get(W_TYPE), Look.of(c.find(W_RPR))) for c in element.iter(W_TBL_STYLE_PR)]
                if conditional:
                    look = Look(
                        look.ascii,
                        look.hansi,
                        look.bold,
                        look.italic,
                        frozenset(kind for kind, c in conditional if c.bold),
                        frozenset(kind for kind, c in conditional if c.italic),
                    )
                chain.append(look)
                based = element.find(W_BASED_ON)
                current = based.get(W_VAL) if based is not None else None
            self.looks[ident] = _merge(chain)
        return self.looks[ident]

    def _ref(self, properties: Any, tag: str) -> str | None:
        element = next(properties.iterchildren(tag), None) if properties is not None else None
        if element is not None and element.get(W_VAL):
            return element.get(W_VAL)
        return self.defaults.get(STYLE_REFS[tag])

    def scan(self, root: Any) -> None:
        """Record the faces of every run of ``root`` that draws text (and split for the fallback)."""
        splits = []
        known: dict[tuple[Any, ...], frozenset[str]] = {}  # run key -> the characters to set apart
        for paragraph in root.iter(W_P):
            runs = list(paragraph.iter(W_R))
            if not runs:
                continue
            table = next(paragraph.iterancestors(W_TBL), None)
            table_style, where = None, frozenset[str]()
            if table is not None:
                table_style = self._ref(table.find(W_TBLPR), W_TBL_STYLE)
                look = self.style(table_style)
                if look.bold_in or look.italic_in:
                    where = _cell_kinds(table, paragraph)
            ppr = next(paragraph.iterchildren(W_PPR), None)
            context = (self._ref(ppr, W_P_STYLE), table_style, where)
            for run in runs:
                texts = list(run.iterchildren(W_T))
                text = (texts[0].text or "") if len(texts) == 1 else "".join(t.text or "" for t in texts)
                if not text and next(run.iterchildren(W_TAB), None) is None:
                    continue
                rpr = run[0] if len(run) and run[0].tag == W_RPR else None
                key = (context, _signature(rpr) if rpr is not None and len(rpr) else ())
                needs = known.get(key)
                if needs is None:  # the same key always gives the same faces: recorded once
                    if key not in self.runs:
                        self.runs[key] = self.resolve(rpr, *context)
                    faces, family = self.runs[key]
                    self.faces.update(faces)
                    needs = known[key] = (self.needs.get(family or "") if self.fallback else None) or NONE
                if needs and not needs.isdisjoint(text):
                    splits.append((run, needs))
        for run, needs in splits:
            if run.getparent() is not None and _split(run, needs, self.fallback):
                self.faces.add((self.fallback, "Regular"))

    def resolve(
        self, rpr: Any, paragraph_style: str | None, table_style: str | None, where: frozenset[str]
    ) -> tuple[set[tuple[str, str]], str | None]:
        """The shipped faces a run with properties ``rpr`` may be drawn in, and its hAnsi family."""
        direct = Look.of(rpr)
        tstyle = self.style(table_style) if table_style is not None else Look()
        styled = [self.style(self._ref(rpr, W_R_STYLE)), self.style(paragraph_style), tstyle]
        looks = (direct, *styled, self.base)
        ascii_font = next((look.ascii for look in looks if look.ascii is not None), None)
        hansi_font = next((look.hansi for look in looks if look.hansi is not None), None)
        bold = _states(direct.bold, [s.bold for s in styled], self.base.bold, bool(tstyle.bold_in & where))
        italic = _states(
            direct.italic, [s.italic for s in styled], self.base.italic, bool(tstyle.italic_in & where)
        )
        faces = {
            (name, STYLE_OF[b, i])
            for name in {ascii_font, hansi_font}
            if name in self.families
            for b, i in itertools.product(bold, italic)
        }
        return faces, hansi_font  # Word sets what is not ASCII in the hAnsi font


def _signature(rpr: Any) -> tuple[Any, ...]:
    """What of a run's properties chooses its face (style, fonts, bold, italic), as a key."""
    if rpr is None:
        return ()
    return tuple((c.tag, tuple(c.attrib.items())) for c in rpr if c.tag in LOOK_TAGS)


def _cell_kinds(table: Any, paragraph: Any) -> frozenset[str]:
    """The conditional formats of a table style (w:tblStylePr types) that may reach ``paragraph``:
    every banding, and the first or last row or column and corner it sits in."""
    kinds = {"wholeTable", "band1Vert", "band2Vert", "band1Horz", "band2Horz"}
    cell = next((a for a in paragraph.iterancestors(W_TC) if a.getparent().getparent() is table), None)
    if cell is None:
        return frozenset(kinds)
    row = cell.getparent()
    rows, cells = table.findall(W_TR), row.findall(W_TC)
    first_row, last_row = row is rows[0], row is rows[-1]
    first_col, last_col = cell is cells[0], cell is cells[-1]
    for kind, here in (
        ("firstRow", first_row), ("lastRow", last_row), ("firstCol", first_col), ("lastCol", last_col),
        ("nwCell", first_row and first_col), ("neCell", first_row and last_col),
        ("swCell", last_row and first_col), ("seCell", last_row and last_col),
    ):  # fmt: skip
        if here:
            kinds.add(kind)
    return frozenset(kinds)


def _split(run: Any, needs: frozenset[str], fallback: str) -> bool:
    """Put the characters of ``run`` that ``needs`` holds into runs of their own set in ``fallback``."""
    if not any(c.tag == W_T and c.text and not needs.isdisjoint(c.text) for c in run):
        return False
    rpr = run.find(W_RPR)
    pieces: list[tuple[bool, Any]] = []
    for child in run:
        if child.tag == W_RPR:
            continue
        if child.tag == W_T and child.text and not needs.isdisjoint(child.text):
            for special, chars in itertools.groupby(child.text, key=needs.__contains__):
                t = OxmlElement("w:t")
                t.text = "".join(chars)
                t.set(qn("xml:space"), "preserve")
                pieces.append((special, t))
        else:
            pieces.append((False, child))
    anchor = run
    for special, group in itertools.groupby(pieces, key=lambda piece: piece[0]):
        new = OxmlElement("w:r")
        for name, value in run.attrib.items():
            new.set(name, value)
        properties = copy.deepcopy(rpr) if rpr is not None else None
        if special:
            properties = properties if properties is not None else OxmlElement("w:rPr")
            _set_font(properties, fallback)
        if properties is not None:
            new.append(properties)
        for _, element in group:
            new.append(element)
        anchor.addnext(new)
        anchor = new
    run.getparent().remove(run)
    return True


def _set_font(rpr: Any, name: str) -> None:
    """Set every font slot of the run properties ``rpr`` to ``name`` (w:rFonts in schema order)."""
    rfonts = rpr.find(W_RFONTS)
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        first = rpr[0] if len(rpr) else None
        if first is not None and first.tag == qn("w:rStyle"):
            first.addnext(rfonts)
        else:
            rpr.insert(0, rfonts)
    for slot in FONT_SLOTS:
        rfonts.attrib.pop(qn(f"w:{slot}Theme"), None)
        rfonts.set(qn(f"w:{slot}"), name)
