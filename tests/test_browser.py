"""Web maps in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

No browser is downloaded: Playwright runs the system Chromium. Web requests are
refused (CI reaches no tile server); tile failures are the only errors allowed.
Screenshots and timings are kept in ``tests/artifacts/`` (git-ignored).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from geo.maps import write_map

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND"]  # no network, as on CI, and failing at once
XSS = "<img src=x onerror=alert(1)>"
TILE_HOSTS = ("tile.openstreetmap.org", "tianditu.gov.cn", "is.autonavi.com")
READY_BUDGET_MS = 1500


def sites():
    return gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3"],
        "name": ["化工厂", XSS, "输水管线"],
        "project_type": ["T01", "T03", "T05"],
        "verdict": ["prohibited", "restricted", "allowed"],
        "reasons_zh": ["位于卧龙水库一级保护区内", "须审批", "未涉及限制性管控区域"],
        "reasons_en": ["inside a first-level zone", "needs approval", "no restrictive zone met"],
        "citations": ["水污染防治法第六十五条", "测试条款四", ""],
    }, geometry=[Point(121.93, 39.08), Point(121.80, 39.05), LineString([(121.85, 39.10), (121.90, 39.12)])],
        crs=4490)


@pytest.fixture(scope="module")
def maps(jinpu, tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps")
    return {
        "online": write_map(jinpu, folder / "jinpu.html", sites()),
        "offline": write_map(jinpu, folder / "jinpu-offline.html", sites(), offline=True),
        "en": write_map(jinpu, folder / "jinpu-en.html", sites(), lang="en", basemap="gaode"),
    }


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium")
        pytest.skip("no system Chromium (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page opened on a map, recording errors, web requests and dialogs."""

    def __init__(self, browser, path: Path, width=1400, height=900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.set_default_timeout(8_000)
        self.errors, self.console, self.web, self.failed, self.dialogs = [], [], [], [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.requests = []  # every request but data: URIs
        self.page.on("request", lambda r: None if r.url.startswith("data:") else self.requests.append(r.url))
        self.page.on("request", lambda r: self.web.append(r.url) if r.url.startswith("http") else None)
        self.page.add_init_script("window.__alerts = 0; window.alert = function () { window.__alerts++; };")
        self.page.goto(path.as_uri(), wait_until="domcontentloaded")
        self.page.wait_for_selector("html[data-ecozone-ready]", timeout=15_000)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def run(self, statements):
        """Run statements, returning nothing (a returned Leaflet object would be serialised: slow)."""
        self.page.evaluate(f"() => {{ {statements}; }}")

    def unexpected_errors(self):
        """Errors other than tile fetch failures."""
        tiles_only = all(any(h in u for h in TILE_HOSTS) for u in self.failed)
        console = [c for c in self.console if not (c.startswith("Failed to load resource") and tiles_only)]
        return self.errors + console

    def click_feature(self, layer_id, index=0):
        """Click a feature where it is on top (a real mouse click, not a fired event)."""
        xy = self.js("""([id, i]) => {
            const map = ecozone.map, f = ecozone.layers[id].getLayers()[i];
            const r = map.getContainer().getBoundingClientRect(), pts = [];
            if (f.getLatLng) {
                pts.push(map.latLngToContainerPoint(f.getLatLng()));
            } else {
                const sw = map.latLngToContainerPoint(f.getBounds().getSouthWest());
                const ne = map.latLngToContainerPoint(f.getBounds().getNorthEast());
                for (let a = 1; a < 12; a++) for (let b = 1; b < 12; b++)
                    pts.push(L.point(sw.x + (ne.x - sw.x) * a / 12, ne.y + (sw.y - ne.y) * b / 12));
            }
            for (const p of pts) {
                const x = r.left + p.x, y = r.top + p.y;
                if (document.elementFromPoint(x, y) === f._path) return [x, y];
            }
            return null;
        }""", [layer_id, index])
        assert xy, f"{layer_id}[{index}] is nowhere on top"
        self.page.mouse.click(*xy)

    def popup(self):
        """The open popup (waiting for a closing one to fade out)."""
        self.page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 1")
        return self.page.locator(".leaflet-popup-content")

    def measure_area(self):
        """Open the measure tool, click three corners, finish; the result popup's text."""
        box = self.page.locator(".leaflet-control-measure-toggle").bounding_box()
        self.page.mouse.move(box["x"] + 5, box["y"] + 5)
        self.page.locator(".leaflet-control-measure .js-start").click()
        for x, y in ((650, 450), (750, 500), (700, 600)):
            self.page.mouse.click(x, y)
        self.page.locator(".leaflet-control-measure .js-finish").click()
        return self.popup().inner_text()

    def paths(self, pane):
        return self.js(f"document.querySelectorAll('.leaflet-ez-{pane}-pane path').length")


@pytest.fixture(scope="module")
def page(browser, maps):
    p = Page(browser, maps["online"])
    yield p
    p.page.close()


def test_loads_without_errors_and_fast(page):
    assert page.unexpected_errors() == []
    assert all(any(h in u for h in TILE_HOSTS) for u in page.web)  # only tiles were asked for
    ready_ms = page.js("window.ecozone.ready")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timing.json").write_text(json.dumps({"ready_ms": ready_ms}), encoding="utf-8")
    assert ready_ms < READY_BUDGET_MS


def test_layer_control_lists_groups_and_layers(page):
    groups = page.locator(".leaflet-control-layers-group-name").all_inner_texts()
    for name in ("核查项目", "生态保护红线", "生态安全格局（一脊两核两带十八廊）", "饮用水水源保护区",
                 "岸线分类与管控带", "自然保护地", "环境管控单元"):
        assert name in groups
    labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    for name in ("陆域生态保护红线", "一脊：中部山脊生态控制区", "十八廊：一级生态廊道", "一级保护区", "二级保护区",
                 "准保护区", "严格保护岸线", "核心区", "自然公园", "水环境管控分区", "大气环境管控分区", "禁止 (1)"):
        assert name in labels
    bases = [t.strip() for t in page.locator(".leaflet-control-layers-base label").all_inner_texts()]
    assert bases == ["OpenStreetMap", "无底图"]


def test_toggling_a_layer_hides_its_features(page):
    box = page.locator(".leaflet-control-layers-overlays label", has_text="陆域生态保护红线").locator("input")
    before = page.paths("red_line")
    assert before == 2
    box.uncheck()
    assert page.paths("red_line") == 1
    assert page.js("ecozone.map.hasLayer(ecozone.layers['red_line:land'])") is False
    box.check()
    assert page.paths("red_line") == before
    # hidden at open: the control units, shown when ticked
    assert page.paths("water_control_units") == 0
    units = page.locator(".leaflet-control-layers-overlays label", has_text="水环境管控分区").locator("input")
    units.check()
    assert page.paths("water_control_units") > 0
    units.uncheck()


def test_clicking_a_site_opens_its_popup(page):
    page.click_feature("sites:prohibited")
    text = page.popup().inner_text()
    for part in ("化工厂", "禁止", "水污染防治法第六十五条", "位于卧龙水库一级保护区内"):
        assert part in text
    page.keyboard.press("Escape")
    page.run("ecozone.map.closePopup()")


def test_clicking_a_zone_gives_its_requirement(page):
    page.run("ecozone.map.fitBounds(ecozone.layers['water_source:L1'].getLayers()[0].getBounds(), {animate: false})")
    page.click_feature("water_source:L1")
    text = page.popup().inner_text()
    assert "一级保护区" in text and "管控要求" in text and "依据" in text
    page.run("ecozone.map.closePopup(); ecozone.map.fitBounds(ecozone.layers['red_line:land'].getBounds(), {animate: false})")


def test_legend_is_present(page):
    legend = page.locator(".ez-legend")
    assert legend.is_visible()
    text = legend.inner_text()
    assert "图例" in text and "Legend" in text and "一级保护区" in text and "First-level zone" in text
    assert page.locator(".ez-legend .ez-sw").count() > 25


def test_script_named_site_runs_nothing(page):
    page.run("ecozone.map.fitBounds(ecozone.layers['red_line:land'].getBounds(), {animate: false})")
    page.click_feature("sites:restricted")
    popup = page.popup()
    assert XSS in popup.inner_text()
    assert popup.locator("img").count() == 0
    # the search list shows it as text too
    page.run("ecozone.search.expand()")
    page.locator(".leaflet-control-search input").press_sequentially("onerror")
    page.locator(".search-tip").first.wait_for()
    assert XSS in page.locator(".search-tip").first.inner_text()
    assert page.locator(".leaflet-control-search img").count() == 0
    page.wait_for_timeout(200)
    assert page.js("window.__alerts") == 0 and page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    page.run("ecozone.search.collapse(); ecozone.map.closePopup()")


def test_search_finds_a_zone_and_opens_it(page):
    page.run("ecozone.search.expand()")
    page.locator(".leaflet-control-search input").press_sequentially("卧龙水库一级")
    tip = page.locator(".search-tip", has_text="卧龙水库一级保护区")
    tip.first.click()
    assert "卧龙水库一级保护区" in page.popup().inner_text()
    page.run("ecozone.map.closePopup(); ecozone.map.fitBounds(ecozone.layers['red_line:land'].getBounds(), {animate: false})")


def test_map_tools(page):
    page.run("ecozone.map.closePopup(); ecozone.home()")
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("km", "m"))
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".leaflet-control-minimap").count() == 1
    page.mouse.move(700, 450)
    coords = page.locator(".ez-coords").inner_text()
    assert coords.startswith("CGCS2000") and coords.count(".") == 2
    assert "公顷" in page.measure_area()
    page.run("ecozone.map.closePopup()")
    page.mouse.move(700, 880)
    assert page.unexpected_errors() == []


def test_screenshot(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.run("ecozone.map.closePopup(); ecozone.home()")
    page.click_feature("sites:prohibited")
    assert "化工厂" in page.popup().inner_text()
    page.mouse.move(700, 880)
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(ARTIFACTS / "jinpu-map.png"))
    assert (ARTIFACTS / "jinpu-map.png").stat().st_size > 50_000
    assert page.unexpected_errors() == []


def test_offline_map_makes_no_request(browser, maps):
    p = Page(browser, maps["offline"])
    try:
        assert p.paths("study_area") == 1 and p.paths("sites") == 3
        assert "公顷" in p.measure_area()
        p.run("ecozone.map.closePopup()")
        assert p.requests == [maps["offline"].as_uri()]  # the page itself, nothing else
        assert p.unexpected_errors() == [] and p.console == []
        assert p.locator(".leaflet-control-layers-base label").count() == 0
        assert p.locator(".leaflet-control-minimap path[fill='#bdbdbd']").count() == 1  # the study-area outline
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / "jinpu-map-offline.png"))
    finally:
        p.page.close()


def test_english_gaode_map(browser, maps):
    p = Page(browser, maps["en"])
    try:
        assert p.unexpected_errors() == []
        assert "GCJ-02" in p.locator(".leaflet-control-attribution").inner_text()
        groups = p.locator(".leaflet-control-layers-group-name").all_inner_texts()
        assert "Drinking-water source protection zones" in groups and "Checked sites" in groups
        p.click_feature("sites:prohibited")
        assert "prohibited" in p.popup().inner_text()
    finally:
        p.page.close()
