"""The web app in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server.

A user signs in, uploads each family of site file, draws a polygon, reads the verdicts, opens a site's
panel, downloads results and report, switches language and signs out; a second user typing the first
one's check id gets nothing; an oversize upload and a script in a file name are shown as text.
"""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pyogrio
import pytest

from geo.app import add_user, create_app

from app_server import running
from test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

SITES = Path(__file__).resolve().parent / "data" / "sites"
PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>.geojson"


@pytest.fixture(scope="module")
def server(jinpu, tmp_path_factory):
    folder = tmp_path_factory.mktemp("appbrowser")
    users = folder / "users.json"
    add_user(users, "alice", PASSWORD)
    add_user(users, "bob", PASSWORD)
    app = create_app([jinpu.root], data_dir=folder / "data", users_file=users, host="0.0.0.0", max_upload=300_000)
    with running(app) as (_, port):
        yield f"http://127.0.0.1:{port}", folder


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        args = [a if not a.startswith("--host-resolver-rules") else a + ", EXCLUDE 127.0.0.1" for a in ARGS]
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


def signed_in(browser, url, name):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True,
                                  bypass_csp=True)  # (Playwright evaluates its waits; the page holds no eval)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.add_init_script("window.__alerts = 0; window.alert = function () { window.__alerts++; };")
    page.goto(url + "/")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("html[data-app-ready]")
    return page


@pytest.fixture(scope="module")
def alice(browser, server):
    page = signed_in(browser, server[0], "alice")
    yield page
    page.context.close()


def upload(page, path=None, *, name=None, data=None, **options):
    """Choose a file in the page (with the form's options) and wait for its verdicts or its error."""
    for field, value in {"type": "", "coord_sys": "", "crs": "", "encoding": "", **options}.items():
        if page.locator(f"#{field}").evaluate("e => e.tagName") == "SELECT":
            page.select_option(f"#{field}", value)
        else:
            page.fill(f"#{field}", value)
    page.evaluate("document.documentElement.removeAttribute('data-results-drawn');"
                  "document.getElementById('error').hidden = true")
    files = {"name": name or path.name, "mimeType": "application/octet-stream",
             "buffer": data if data is not None else path.read_bytes()}
    page.set_input_files("#file", files=files)
    page.wait_for_function("document.documentElement.hasAttribute('data-results-drawn') ||"
                           " !document.getElementById('error').hidden")


def zipped(*paths) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in paths:
            zf.write(p, p.name)
    return buf.getvalue()


def test_each_format_family_gets_verdicts_on_the_map(alice, tmp_path):
    gpkg = tmp_path / "sites.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(SITES / "clean_wgs84.geojson"), gpkg, layer="sites")
    cases = [
        dict(path=SITES / "clean_wgs84.geojson", type="T03"),
        dict(name="parcels.zip", data=zipped(*sorted(SITES.glob("parcels_gbk.*"))), type="T03", encoding="gbk"),
        dict(path=SITES / "ovital_gcj02.kml", type="T03", coord_sys="gcj02"),
        dict(path=SITES / "points_gcj02.csv", type="T03", coord_sys="gcj02"),
        dict(path=SITES / "drawing_cm123.dxf", type="T03", crs="EPSG:4550"),
        dict(path=SITES / "jzd_utf8_zone41.txt", type="T03"),
        dict(path=gpkg, type="T03"),
    ]
    for case in cases:
        upload(alice, **case)
        assert alice.locator("#error").is_hidden(), (case.get("name") or case["path"].name, alice.inner_text("#error"))
        drawn = int(alice.get_attribute("html", "data-results-drawn"))
        assert drawn > 0
        assert "已核查" in alice.inner_text("#summary")
        assert alice.locator("#table tbody tr").count() == drawn
    frame = alice.frame_locator("#map")
    assert frame.locator("path.leaflet-interactive").count() > 10
    assert alice.errors == []


def test_a_site_panel_and_downloads(alice):
    upload(alice, SITES / "clean_wgs84.geojson", type="T03")
    alice.select_option("#filter", "prohibited")
    rows = alice.locator("#table tbody tr")
    assert rows.count() == 2
    rows.first.click()
    panel = alice.locator("#site")
    panel.wait_for(state="visible")
    text = panel.inner_text()
    assert "禁止" in text and "涉及的管控区" in text and "依据" in text
    assert panel.locator("table tr").count() > 1
    for name in ("results.csv", "report.html"):
        with alice.expect_download() as dl:
            alice.locator("#downloads a", has_text=name).click()
        path = dl.value.path()
        assert Path(path).stat().st_size > 200
    alice.select_option("#filter", "")


def click_a_site_on_the_map(page) -> str:
    """Click the first site drawn (the event its renderer gives a click on it); the name its panel then shows."""
    name = page.evaluate("""() => {
      const layer = window.ecozoneApp.resultLayer.getLayers()[0];
      layer.fire('click', {latlng: layer.getLatLng ? layer.getLatLng() : layer.getCenter()}, true);
      return layer.feature.properties.name;
    }""")
    page.wait_for_function("n => document.querySelector('#site h3') && "
                           "document.querySelector('#site h3').textContent === n", arg=name, timeout=10_000)
    return name


def test_sites_on_the_map_open_their_panel_on_svg_and_on_canvas(alice):
    """A few sites are SVG paths over the zones; many are drawn on one canvas: a click opens the site's panel."""
    frame = alice.frame_locator("#map")
    for canvas_from, canvases in ((2000, 0), (0, 1)):
        alice.evaluate(f"window.ecozoneApp.canvasFrom = {canvas_from}")
        upload(alice, SITES / "clean_wgs84.geojson", type="T03")
        assert frame.locator(".leaflet-overlay-pane canvas").count() == canvases
        alice.locator("#site").evaluate("e => { e.hidden = true; e.replaceChildren(); }")
        assert click_a_site_on_the_map(alice)
        assert "涉及的管控区" in alice.inner_text("#site")
    alice.evaluate("window.ecozoneApp.canvasFrom = 2000")
    assert alice.errors == []


def test_draw_a_polygon(alice):
    alice.select_option("#type", "T03")
    alice.click("button[data-draw=polygon]")
    box = alice.locator("#map").bounding_box()
    for dx, dy in ((0.45, 0.45), (0.55, 0.45), (0.5, 0.55)):
        alice.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    alice.evaluate("document.documentElement.removeAttribute('data-results-drawn')")
    alice.click("#draw-check")
    alice.wait_for_function("document.documentElement.hasAttribute('data-results-drawn')")
    assert alice.locator("#table tbody tr").count() == 1
    assert "已核查 1 个项目" in alice.inner_text("#summary")


def test_oversize_upload_and_script_in_a_file_name(alice):
    upload(alice, name="big.geojson", data=b" " * 400_000)
    assert "MB" in alice.inner_text("#error")
    upload(alice, name=XSS, data=(SITES / "clean_wgs84.geojson").read_bytes(), type="T03")
    alice.click("button[data-tab=history]")
    cell = alice.locator("#history tbody tr").first.locator("td").nth(1)
    from playwright.sync_api import expect

    expect(cell).to_have_text(XSS, timeout=30_000)  # (the list is drawn again when the check ends: wait for it)
    assert cell.inner_text() == XSS
    assert alice.locator("img[src='x']").count() == 0
    assert alice.evaluate("window.__alerts") == 0


def test_language_switch(alice):
    alice.click("button[data-tab=check]")
    alice.click("#lang")
    assert alice.inner_text("button[data-tab=check]") == "Check sites"
    frame = alice.frame_locator("#map")
    frame.locator(".ez-legend").wait_for()
    assert "Legend" in frame.locator(".ez-legend").inner_text()
    alice.click("#lang")
    assert alice.inner_text("button[data-tab=check]") == "选址核查"


def test_second_user_is_denied_the_first_users_check(alice, browser, server):
    url, _ = server
    cid = alice.evaluate("fetch('/api/checks').then(r => r.json()).then(d => d.checks[0].id)")
    bob = signed_in(browser, url, "bob")
    try:
        bob.goto(f"{url}/#check={cid}")
        bob.wait_for_selector("html[data-app-ready]")
        bob.locator("#error").wait_for(state="visible")
        assert "no such check" in bob.inner_text("#error")
        assert bob.request.get(f"{url}/api/checks/{cid}/files/results.csv").status == 404
        assert bob.locator("#result").is_hidden()
    finally:
        bob.context.close()


def test_log_out(alice, server):
    alice.click("#logout")
    alice.wait_for_selector("form#login")
    assert alice.request.get(server[0] + "/api/session").status == 401


def test_nothing_from_a_cdn():
    pages = Path(__file__).resolve().parents[1] / "geo" / "static" / "app"
    for f in pages.iterdir():
        text = f.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "innerHTML" not in text, f.name
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
