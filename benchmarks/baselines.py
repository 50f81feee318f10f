"""Turn the pipeline's HTML and tailored brief into baseline timings measured in the same run.

Three baselines: WeasyPrint with default settings on the pipeline's HTML (``pdf_naive_s``), pandoc
converting that HTML to Word (``docx_pandoc_s``), and Typst compiling a reference document of
comparable content (``typst_s``), whose Typst source is built here from the tailored brief. A
baseline whose package is missing is skipped with a note and null in the JSON.
"""

from __future__ import annotations

import importlib.metadata
import itertools
from pathlib import Path
from typing import Any

from pipeline import business_brief, page_count
from report import Report, Settings
from timing import captured_warnings, measure


def bench_naive_pdf(report: Report, settings: Settings, html: str) -> None:
    """pdf_naive_s: WeasyPrint with default settings and system fonts on the pipeline's HTML."""
    import weasyprint

    def run() -> bytes:
        return weasyprint.HTML(string=html).write_pdf()

    with captured_warnings(report, "naive WeasyPrint"):
        report.timed("pdf_naive_s", measure(run, settings.repeats))
        report.results["pdf_naive_pages"] = page_count(run())


def bench_pandoc(report: Report, settings: Settings, html: str, scratch: Path) -> None:
    """docx_pandoc_s: pandoc converting the pipeline's HTML to Word."""
    try:
        import pypandoc
    except ImportError:
        report.skip(("docx_pandoc_s",), "pandoc baseline skipped: pypandoc is not installed")
        return
    target = scratch / "pandoc.docx"
    try:
        samples = measure(
            lambda: pypandoc.convert_text(html, "docx", format="html", outputfile=str(target)),
            settings.repeats,
        )
    except (OSError, RuntimeError) as exc:  # OSError: pypandoc found no pandoc binary
        report.skip(("docx_pandoc_s",), f"pandoc baseline skipped: {exc}")
        return
    report.timed("docx_pandoc_s", samples)
    report.results["pandoc_version"] = pypandoc.get_pandoc_version()


def bench_typst(report: Report, settings: Settings) -> None:
    """typst_s: Typst compiling a document of comparable content (reported, no goal)."""
    try:
        import typst
    except ImportError:
        report.skip(("typst_s",), "Typst baseline skipped: the typst package is not installed")
        return
    from briefgen.paths import builtin_templates

    source = typst_source(business_brief())
    fonts = [str(builtin_templates() / "fonts")]
    runs = itertools.count()

    def run() -> bytes:
        # A different comment each run, so no run is served whole from Typst's in-process memo cache.
        marked = f"// run {next(runs)}\n{source}".encode()
        return typst.compile(marked, font_paths=fonts, ignore_system_fonts=True)

    try:
        report.timed("typst_s", measure(run, settings.repeats))
    except RuntimeError as exc:  # typst.TypstError
        report.skip(("typst_s",), f"Typst baseline failed: {exc}")
        return
    report.results["typst_pages"] = page_count(run())
    report.results["typst_version"] = importlib.metadata.version("typst")


# --- Typst source from a Brief -----------------------------------------------------------------

TYPST_PREAMBLE = """\
#set document(title: {title}, author: {author})
#set text(font: "Noto Sans", size: 10.5pt, lang: "en")
#set par(leading: 0.7em, spacing: 1.1em)
#set heading(numbering: none)
#show heading.where(level: 1): it => {{ pagebreak(weak: true); text(size: 20pt, it) }}
#show heading.where(level: 2): it => text(size: 14pt, it)
#set table(inset: 6pt, stroke: 0.5pt + luma(180))
#set page(
  paper: "a4",
  margin: (x: 2.2cm, top: 2.6cm, bottom: 2.4cm),
  header: context text(size: 8.5pt, fill: luma(90))[{title_markup}],
  footer: context align(right, text(size: 8.5pt)[Page #counter(page).display("1 of 1", both: true)]),
)
"""


def tstr(text: str) -> str:
    """A Typst string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


def lit(text: str | None) -> str:
    """Plain text embedded in markup as a string: nothing in it is read as markup."""
    return f"#{tstr(text)}" if text else ""


def typst_inline(element: Any) -> str:
    """An HTML element's inline content (text, em, strong, links) as Typst markup."""
    parts = [lit(element.text)]
    for child in element:
        inner = typst_inline(child)
        if child.tag == "em":
            inner = f"#emph[{inner}]"
        elif child.tag == "strong":
            inner = f"#strong[{inner}]"
        elif child.tag == "a":
            inner = f"#link({tstr(child.get('href', ''))})[{inner}]"
        parts.append(inner)
        parts.append(lit(child.tail))
    return "".join(parts)


def typst_markdown(text: str | None) -> list[str]:
    """Markdown content (paragraphs and lists) as Typst lines."""
    import lxml.html

    from briefgen.render import markdown_block

    html = str(markdown_block(text))
    if not html:
        return []
    lines: list[str] = []
    for block in lxml.html.fragments_fromstring(html):
        if isinstance(block, str) or block.tag not in ("ul", "ol"):
            lines += [typst_inline(block) if not isinstance(block, str) else lit(block), ""]
            continue
        marker = "+" if block.tag == "ol" else "-"
        lines += [f"{marker} {typst_inline(item)}" for item in block.iter("li")] + [""]
    return lines


def typst_items(texts: list[str], marker: str = "-") -> list[str]:
    return [*(f"{marker} {inline_markdown(t)}" for t in texts), ""]


def inline_markdown(text: str | None) -> str:
    import lxml.html

    from briefgen.render import markdown_inline

    html = str(markdown_inline(text))
    return typst_inline(lxml.html.fragment_fromstring(html, create_parent="span")) if html else ""


def typst_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    header = ", ".join(f"[#strong[{lit(c)}]]" for c in columns)
    cells = ", ".join(f"[{inline_markdown(cell)}]" for row in rows for cell in row)
    return [f"#table(columns: {len(columns)}, table.header({header}), {cells})", ""]


def typst_cover(brief: Any) -> list[str]:
    identity = brief.identity
    return [
        "#page(header: none, footer: none)[",
        "#v(5cm)",
        f"#text(size: 11pt, fill: luma(90))[{lit(identity.short_title or identity.title)}]",
        "",
        f'#text(size: 28pt, weight: "bold")[{lit(brief.title)}]',
        "",
        f"#text(size: 14pt)[{lit(identity.subtitle or '')}]",
        "#v(2cm)",
        f"#strong[Audience:] {lit(brief.audience.label)} \\",
        f"#strong[Strategy presented:] {lit(identity.presented.isoformat())} \\",
        f"#strong[Issued by:] {lit(' and '.join(identity.issuer))}",
        "]",
        "#outline(depth: 2)",
        "",
    ]


def typst_lead(brief: Any) -> list[str]:
    lines = [f"= {lit('What to do first')}", ""]
    for section in brief.sections:
        lines += [f"== {lit(section.title)}", "", *typst_markdown(section.intro)]
        if section.table is not None:
            lines += typst_table(section.table.columns, section.table.rows)
        marker = "+" if section.kind == "steps" else "-"
        for entry in section.entries:
            title = f"#strong[{lit(entry.title)}]: " if entry.title else ""
            lines.append(f"{marker} {title}{inline_markdown(entry.text)}")
        lines.append("")
    return lines


def typst_recommendations(brief: Any) -> list[str]:
    lines = [f"= {lit('Recommendations for ' + brief.audience.label.lower())}", ""]
    for view in brief.recommendations:
        rec = view.rec
        lines += [
            f"== {lit(f'{view.number}. {rec.title}')}",
            "",
            f"#emph[{inline_markdown(rec.summary)}]",
            "",
        ]
        lines += typst_markdown(rec.rationale)
        lines += [
            "#block(fill: luma(240), inset: 8pt, radius: 3pt, width: 100%)[",
            "#strong[Key actions]",
            "",
        ]
        lines += [*typst_items(rec.actions, "+"), "]", ""]
    return lines


def typst_strategy(brief: Any) -> list[str]:
    lines = [f"= {lit('The strategy in brief')}", "", f"== {lit('Strategic objectives')}", ""]
    for objective in brief.objectives:
        lines += [f"=== {lit(objective.title)}", "", *typst_markdown(objective.summary)]
        lines += typst_items(objective.points)
    lines += [f"== {lit('Priority focus areas')}", ""]
    for view in brief.focus_areas:
        lines += [f"=== {lit(view.area.title)}", "", *typst_markdown(view.area.summary)]
        lines += typst_items(view.area.points)
    return lines


def typst_context(brief: Any) -> list[str]:
    context = brief.context
    if context is None:
        return []
    lines = [f"= {lit('The international context')}", "", f"== {lit('Regions and partners')}", ""]
    rows = [[r.name, ", ".join(r.countries) or (r.group or ""), r.summary] for r in context.regions]
    lines += typst_table(["Region", "Partners", "Cooperation"], rows)
    lines += [f"== {lit('Policy areas')}", ""]
    lines += [f"- #strong[{lit(a.name)}:] {inline_markdown(a.summary)}" for a in context.policy_areas] + [""]
    lines += [f"== {lit('Agreements and initiatives')}", ""]
    for initiative in context.initiatives:
        lines += [f"=== {lit(initiative.title)}", "", f"#emph[{lit(initiative.when)}]", ""]
        lines += typst_markdown(initiative.summary) + typst_items(initiative.points)
    return lines


def typst_source(brief: Any) -> str:
    """A Typst document with the brief's content: cover, contents, chapters, lists and tables."""
    preamble = TYPST_PREAMBLE.format(
        title=tstr(brief.title), author=tstr(brief.author), title_markup=lit(brief.title)
    )
    figures = [[f.label, f.value, f.detail] for f in brief.figures]
    body = [
        *typst_cover(brief),
        f"= {lit('At a glance')}",
        "",
        *typst_markdown(brief.audience.intro),
        *typst_markdown(brief.identity.overview),
        *typst_table(["Key figure", "Value", "Detail"], figures),
        *typst_lead(brief),
        *typst_recommendations(brief),
        *typst_strategy(brief),
        *typst_context(brief),
        f"= {lit('Next steps')}",
        "",
        *typst_markdown(brief.audience.closing),
    ]
    return preamble + "\n".join(body) + "\n"
