"""Charts kept between runs: drawn once per user, read back byte for byte, bounded in number."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from briefgen.paths import builtin_content
from briefgen.pictures import chart, kept
from briefgen.validate import validate

ROWS = [
    {"label": "Before", "value": 3.0, "text": "€3.00/MB"},
    {"label": "After", "value": 0.2, "text": "€0.20/MB"},
]
COLOURS = {"brand": "#1f4e79", "muted": "#8899aa", "ink": "#222222"}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", str(tmp_path / "cache"))
    chart._svg.cache_clear()
    yield tmp_path / "cache" / "pictures"
    chart._svg.cache_clear()


def fresh_svg(spec: dict) -> str:
    """The chart's SVG as a new process would get it (the in-process cache dropped)."""
    chart._svg.cache_clear()
    return chart.svg(spec)


def test_a_chart_is_drawn_once_then_read_back_byte_for_byte(cache: Path, monkeypatch) -> None:
    spec = chart.spec("before-after", ROWS, COLOURS)
    first = fresh_svg(spec)
    assert first.startswith("<svg ") and "€3.00/MB" in first
    (file,) = cache.iterdir()
    assert oct(file.stat().st_mode & 0o777) == "0o600" and oct(cache.stat().st_mode & 0o777) == "0o700"

    def no_drawing(_chart: dict) -> str:
        raise AssertionError("drawn again")

    monkeypatch.setattr(chart, "_draw", no_drawing)
    assert fresh_svg(spec) == first


def test_the_same_data_draws_the_same_bytes_and_other_colours_another_file(cache: Path, monkeypatch) -> None:
    spec = chart.spec("column", ROWS, COLOURS)
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", "")  # caching off: drawn twice
    assert fresh_svg(spec) == fresh_svg(spec)
    drawn = fresh_svg(spec)
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", str(cache.parent))
    assert fresh_svg(spec) == drawn  # what is kept is what is drawn
    assert "#aa0000" in fresh_svg(chart.spec("column", ROWS, {**COLOURS, "brand": "#aa0000"}))
    assert len(list(cache.iterdir())) == 2


def test_the_cache_keeps_a_bounded_number_of_files(cache: Path, monkeypatch) -> None:
    monkeypatch.setattr(kept, "MOST_FILES", 3)
    names = [kept.name("svg", f"drawing {i}", "matplotlib") for i in range(5)]
    for name in names:
        kept.write(name, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    left = sorted(p.name for p in cache.iterdir())
    assert len(left) == 3 and set(names[-1:]) <= set(left)


def test_the_word_png_is_kept_too(cache: Path, monkeypatch) -> None:
    svg_text = fresh_svg(chart.spec("bar", ROWS, COLOURS))
    png = chart.svg_to_png(svg_text, scale=1.0)
    assert png.startswith(b"\x89PNG")
    monkeypatch.setattr(chart, "_converter", lambda: pytest.fail("converted again"))
    assert chart.svg_to_png(svg_text, scale=1.0) == png


def test_a_batch_draws_its_charts_before_its_workers_and_a_later_build_imports_no_matplotlib(
    cache: Path, tmp_path: Path
) -> None:
    from briefgen.batch.charts import draw_ahead

    draw_ahead(SimpleNamespace(theme=None, content=builtin_content(), templates=()), [None, None])
    charted = [f for f in validate(builtin_content()).strategy.figures if f.chart is not None]
    assert len(list(cache.glob("*.svg"))) == len(charted) > 0
    script = (
        "import sys\n"
        "from briefgen.render import render\n"
        "from briefgen.tailor import Options, tailor\n"
        "from pathlib import Path\n"
        "from briefgen.validate import validate\n"
        f"strategy = validate(Path({str(builtin_content())!r})).strategy\n"
        "html = render(tailor(strategy, Options(audience='business'))).html\n"
        "assert '<figure class=\"chart\"' in html, 'no chart'\n"
        "print('matplotlib' in sys.modules, len(html))\n"
    )
    env = {"BRIEFGEN_CACHE_DIR": str(cache.parent), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    found = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[0] == "False", found.stdout


def test_the_glance_font_widths_are_kept_and_read_back_the_same(cache: Path, monkeypatch) -> None:
    from briefgen.pictures import text

    text._metrics.cache_clear()
    first = text._metrics(True)
    assert first[0][ord("W")] > first[0][ord("i")] > 0
    monkeypatch.setattr(text, "_read_metrics", lambda data: pytest.fail("fonts read again"))
    text._metrics.cache_clear()
    assert text._metrics(True) == first
    text._metrics.cache_clear()


def test_a_brief_is_the_same_whether_its_pictures_are_drawn_or_kept(cache: Path, monkeypatch) -> None:
    from briefgen.pictures import text
    from briefgen.render import render
    from briefgen.tailor import Options, tailor

    brief = tailor(validate(builtin_content()).strategy, Options(audience="business"))
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", "")
    text._metrics.cache_clear()
    drawn = render(brief).html
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", str(cache.parent))
    for _ in range(2):  # the first fills the cache, the second reads it
        chart._svg.cache_clear()
        text._metrics.cache_clear()
        assert render(brief).html == drawn
    assert list(cache.glob("*.svg")) and list((cache.parent / "fonts").glob("widths-*"))
    text._metrics.cache_clear()
