"""Turn a filled Word document into a finished one: the theme's colours and fonts, running header
and footer, the request to refresh fields on open, the proofing language and the document
properties.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from ... import resources
from ...clock import moment
from ...i18n import page_label_parts
from ...log import warn
from ...safe import xml_clean
from .oxml import simple_field

if TYPE_CHECKING:
    from ...render import Rendered
    from .walker import Walker


def drop_unused(doc: Any) -> None:
    """After the body is emptied, drop the body's images and links nobody refers to any more."""
    used = set(doc.element.xpath("//@r:id|//@r:embed|//@r:link"))
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in (RT.IMAGE, RT.HYPERLINK) and rid not in used:
            del doc.part.rels[rid]


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


def _header_logo(paragraph: Any, theme: Any, alt: str | None = None) -> None:
    """Add the theme's PNG or JPEG logo to a header paragraph; ``alt``: the cover logo's alternative
    text, in the brief's language."""
    if theme is None or not theme.logo_url or theme.logo_type not in ("image/png", "image/jpeg"):
        if theme is not None and theme.logo_url:
            warn("theme logo is %s: Word takes PNG or JPEG, so the Word header has no logo", theme.logo_type)
        return
    found = resources.data_url(theme.logo_url)
    if found is None:
        return
    run = paragraph.add_run()
    picture = run.add_picture(io.BytesIO(found[0]), height=Cm(0.8))
    picture._inline.docPr.set("descr", alt or f"{theme.organisation or theme.name} logo")
    run.add_text("  ")


def _define(part: Any) -> bool:
    """Give the first section's header or footer ``part`` a definition of its own if it has none
    (what python-docx does on first use, without its search of the whole body for a prior
    section); whether it had none."""
    linked = part.is_linked_to_previous
    if linked:
        part.is_linked_to_previous = False
    return linked


def headers_and_footers(walker: Walker, title: str, theme: Any = None, page_label: str = "") -> None:
    """Title in the header, page X of Y in the footer; none on the cover. A reference's own are kept."""
    section = walker.doc.sections[0]
    section.different_first_page_header_footer = not walker.summary  # the summary's page 1 has them (PDF)
    header = section.header
    if _define(header) or _header_is_empty(header):
        paragraph = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        walker.set_style(paragraph, "Header")
        _header_logo(paragraph, theme, walker.logo_alt)
        paragraph.add_run(xml_clean(title))
    footer = section.footer
    if _define(footer) or _header_is_empty(footer):
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        walker.set_style(paragraph, "Footer")
        paragraph.alignment = 2  # right
        if theme is not None and theme.footer:
            paragraph.add_run(xml_clean(theme.footer) + "    ")
        for part in page_label_parts(page_label or "%(page)s / %(pages)s"):
            if part == "\0page":
                simple_field(paragraph, "PAGE", "1")
            elif part == "\0pages":
                simple_field(paragraph, "NUMPAGES", "1")
            else:
                paragraph.add_run(xml_clean(part))
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


def update_fields_on_open(doc: Any, settled: bool = False) -> None:
    """Ask Word to refresh the TOC and page fields when the file is opened; ``settled``: every field
    already shows its result (LibreOffice laid the brief out), so nothing asks for a refresh: no
    ``w:updateFields``, and no field in any part marked ``w:dirty``."""
    settings = doc.settings.element
    for old in settings.findall(qn("w:updateFields")):
        settings.remove(old)
    for old in settings.findall(qn("w:attachedTemplate")):
        settings.remove(old)
    if settled:
        dirty = qn("w:dirty")
        for part in doc.part.package.iter_parts():
            element = getattr(part, "_element", None)
            if element is not None and hasattr(element, "iter"):
                for field in element.iter(qn("w:fldChar"), qn("w:fldSimple")):
                    field.attrib.pop(dirty, None)
        return
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
        return xml_clean(found.get("content", "")) if found is not None else ""

    props = doc.core_properties
    props.title = _limit(xml_clean(document.title))
    props.subject = _limit(meta("description"))
    props.author = _limit(meta("author"))
    props.keywords = _limit(meta("keywords"), sep=", ")
    props.language = document.language
    props.category = _limit(meta("briefgen-category"))
    props.comments = _limit(meta("briefgen-comments"))
    props.last_modified_by = "briefgen"
    props.revision = 1
    props.created = props.modified = moment(epoch).replace(microsecond=0, tzinfo=None)
