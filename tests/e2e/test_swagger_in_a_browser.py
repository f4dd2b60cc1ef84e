"""Swagger UI in a real browser (issue 17 §3): headless Chromium — Debian's, installed by `make test`'s own set-up
(Playwright's browser download cannot reach its servers here) — opens `/swagger` on the local stack, authorizes with
the demo holder's token, runs "Try it out" on `GET /me/services` and sees the 200 with the demo services; every
asset comes from the stack itself (no outside request). The screenshot goes to docs/ (shown in the README) when
UPDATE_SCREENSHOT=1, else to the test's own folder (a run does not rewrite a committed file)."""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "swagger-try-it-out.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As Debian's Chromium runs here: no sandbox (root in a container), and none of its background calls to Google
# (this machine's network is closed to them; they would only add noise and time).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is installed by make test's set-up (Makefile)")
def test_swagger_ui_authorizes_and_tries_my_services_in_headless_chromium(local_stack, tmp_path):
    from playwright.sync_api import sync_playwright

    screenshot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
    token = local_stack.token("demo@ejemplo.com.ar")
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((local_stack.base, "data:", "blob:")) else None)
            page.goto(f"{local_stack.base}/swagger", wait_until="networkidle")
            page.locator("button.authorize").first.click()
            page.locator(".modal-ux input[type=text]").first.fill(token)
            page.locator(".modal-ux button.authorize").first.click()
            page.locator(".modal-ux button.btn-done").first.click()

            operation = page.locator(".opblock-get").filter(
                has=page.locator(".opblock-summary-path[data-path='/me/services']")).first
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            answer = operation.locator(".live-responses-table tbody .response").first
            answer.wait_for(timeout=15_000)
            status = answer.locator(".response-col_status").inner_text().strip()
            body = operation.locator(".live-responses-table .microlight, .live-responses-table pre").first.inner_text()
            operation.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert status == "200", status
    assert "demo-pyme.com.ar" in body and "Hosting Inicial" in body, body[:500]
    assert outside == [], outside  # the offline bundle: nothing fetched from anywhere but the stack
