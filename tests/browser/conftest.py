"""Playwright (sync API) against pytest-django's live server, driving Debian's
Chromium. Screenshots go to ``var/screenshots/``."""

import os
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; Django's ORM calls
# made from the test body would otherwise be refused as "async unsafe".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def ui_data(transactional_db):
    from tests.ui.builders import seed_reference_data

    seed_reference_data()


@pytest.fixture
def page(browser, live_server, ui_data):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot():
    """shot(page, name): a full-page screenshot under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@pytest.fixture
def axe():
    """axe(page): run axe-core (vendored, MPL-2.0) on the page as it is now and
    fail on any violation, naming the rule and the first nodes."""

    def check(page, label: str = "") -> None:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
        )
        assert result == [], f"axe violations on {label or page.url}: {result}"

    return check


def no_horizontal_overflow(page) -> int:
    """The page's full width; a page that fits a phone is at most its viewport."""
    return page.evaluate("document.documentElement.scrollWidth")


def overflowing(page, width: int = 390) -> list[str]:
    """The deepest elements sticking out to the right of the viewport (to say
    what breaks a phone layout)."""
    return page.evaluate(
        """(w) => { const out = [];
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.right > w + 1 && ![...el.children].some(c => c.getBoundingClientRect().right > w + 1))
            out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).split(' ').join('.') : '') + ' ' + Math.round(r.right));
          if (out.length >= 6) break; }
        return out; }""",
        width,
    )
