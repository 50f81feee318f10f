"""``briefgen preview`` in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) opens a real preview subprocess; a saved title shows in
the HTML (before the PDF is rebuilt, the scroll position kept), then in the PDF tab and the Word
tab; broken YAML brings the overlay with the right line over the last good brief, and fixing it
takes the overlay away.

Chromium missing is a failure, not a skip: ``scripts/setup.sh --test`` installs it.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import line_of
from preview_server import Preview, running, wait_until

from briefgen.paths import builtin_content

OLD_TITLE = "Take part in the EU's digital partnerships and dialogues"
NEW_TITLE = "Sit at the table of every EU digital partnership"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail(
            "headless Chromium is missing: install chromium and chromium-driver (scripts/setup.sh --test)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("preview-content") / "content"
    shutil.copytree(builtin_content(), folder)
    return folder


@pytest.fixture(scope="module")
def preview(content: Path) -> Iterator[Preview]:
    with running(content) as started:
        yield started


@pytest.fixture(scope="module")
def page(browser: Any, preview: Preview) -> Any:
    browser.get(preview.url)
    wait_until(lambda: browser.execute_script("return document.body.dataset.htmlLoaded"), 30, 0.05)
    return browser


def frame_text(page: Any) -> str:
    return page.execute_script("return document.getElementById('frame-html').contentDocument.body.innerText")


def generation(page: Any, frame: str) -> int:
    return int(page.execute_script(f"return document.getElementById('{frame}').dataset.generation || -1"))


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(data)).pages).replace("\n", " ")


def test_a_saved_title_shows_in_the_html_first_and_the_page_keeps_its_place(
    page: Any, preview: Preview, content: Path
) -> None:
    assert OLD_TITLE in frame_text(page)
    wait_until(
        lambda: generation(page, "frame-pdf") >= 1, 120, 0.1
    )  # the first PDF, so the next is a rebuild
    page.execute_script("document.getElementById('frame-html').contentWindow.scrollTo(0, 1800)")
    before = generation(page, "frame-html")
    file = content / "business.yaml"
    saved = time.perf_counter()
    file.write_text(file.read_text(encoding="utf-8").replace(OLD_TITLE, NEW_TITLE), encoding="utf-8")
    wait_until(lambda: NEW_TITLE in frame_text(page), 10, 0.01)
    seen = time.perf_counter() - saved
    print(f"save to visible in the HTML tab: {seen:.3f} s")
    shown = generation(page, "frame-html")
    assert shown > before
    assert generation(page, "frame-pdf") < shown, "the HTML is shown before the PDF is rebuilt"
    wait_until(lambda: page.execute_script("return document.body.dataset.htmlLoaded") == str(shown), 5)
    assert page.execute_script("return document.getElementById('frame-html').contentWindow.scrollY") == 1800


def test_links_to_other_sites_open_in_a_new_tab(page: Any) -> None:
    targets = page.execute_script(
        "return [...document.getElementById('frame-html').contentDocument"
        ".querySelectorAll('a[href^=\"https:\"]')].map((a) => a.target + ' ' + a.rel)"
    )
    assert targets and set(targets) == {"_blank noopener noreferrer"}


def test_the_pdf_and_word_tabs_follow(page: Any, preview: Preview) -> None:
    html_generation = generation(page, "frame-html")
    page.find_element("id", "tab-pdf").click()
    assert page.find_element("id", "pane-pdf").is_displayed()
    assert not page.find_element("id", "pane-html").is_displayed()
    wait_until(lambda: generation(page, "frame-pdf") == html_generation, 120, 0.1)
    src = page.find_element("id", "frame-pdf").get_attribute("src")
    assert src.endswith(f"/brief.pdf?v={html_generation}")
    status, headers, data = preview.get("/brief.pdf")
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert NEW_TITLE in pdf_text(data)
    page.find_element("id", "tab-word").click()
    wait_until(lambda: generation(page, "frame-word") == html_generation, 180, 0.1)
    status, _headers, data = preview.get("/pages.pdf")  # LibreOffice's pages of the .docx (CI installs it)
    assert status == 200 and NEW_TITLE in pdf_text(data)
    page.find_element("id", "tab-html").click()


def test_broken_yaml_shows_the_overlay_with_its_line_and_fixing_it_takes_it_away(
    page: Any, preview: Preview, content: Path
) -> None:
    file = content / "business.yaml"
    good = file.read_text(encoding="utf-8")
    broken = good.replace(f"title: {NEW_TITLE}", f"title: [{NEW_TITLE}")
    line = line_of(broken, f"[{NEW_TITLE}")
    file.write_text(broken, encoding="utf-8")
    overlay = page.find_element("id", "problems")
    wait_until(overlay.is_displayed, 10, 0.02)
    lines = [item.text for item in page.find_elements("css selector", "#problems-list li")]
    assert len(lines) == 1, lines
    where, number, column, message = lines[0].split(":", 3)
    assert Path(where) == file
    assert int(number) in (line, line + 1), (lines, line)  # YAML reports an unclosed [ where it noticed it
    assert int(column) >= 1 and "YAML" in message
    assert NEW_TITLE in frame_text(page), "the last good brief stays under the overlay"
    assert any(f"error: {lines[0]}" in said for said in preview.output), "the terminal shows the same line"
    file.write_text(good, encoding="utf-8")
    wait_until(lambda: not overlay.is_displayed(), 10, 0.02)
    assert NEW_TITLE in frame_text(page)
