"""The web app over HTTP: a real uvicorn server on a loopback port, a real layer set, real files and GDAL."""
from __future__ import annotations

import io
import json
import os
import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo.app import add_user, create_app
from geo.cli.main import cli

from app_server import Client, running
from conftest import X0, Y0

PASSWORD = "correct horse battery"


def tiny_sites_geojson() -> bytes:
    """Two sites of the tiny set: one in zone A (prohibited for T03), one in the open area (allowed)."""
    gdf = gpd.GeoDataFrame({"id": ["S1", "S2"], "name": ["化工厂", "仓库 & 码头"]},
                           geometry=[Point(X0 + 2_000, Y0 + 2_000), Point(X0 + 9_000, Y0 + 1_000)], crs=4550)
    return gdf.to_crs(4326).to_json().encode()


@pytest.fixture(scope="module")
def local_app(tiny, tmp_path_factory):
    data = tmp_path_factory.mktemp("appdata")
    app = create_app([tiny.root], data_dir=data, max_upload=200_000)
    with running(app) as (_, port):
        yield app, port, data


@pytest.fixture(scope="module")
def users_app(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("appusers")
    users = folder / "users.json"
    add_user(users, "alice", PASSWORD)
    add_user(users, "bob", PASSWORD + "!")
    app = create_app([tiny.root], data_dir=folder / "data", users_file=users, host="0.0.0.0")
    with running(app) as (_, port):
        yield app, port, folder


def test_local_check_upload_verdicts_and_downloads(local_app):
    app, port, data = local_app
    c = Client(port)
    info = c.start_local()
    assert info["user"] == "local" and info["layersets"][0]["name"] == "tiny"
    status, r = c.upload(tiny_sites_geojson(), "sites.geojson", project_type="T03")
    assert status == 202
    meta = c.wait(r["id"])
    assert meta["status"] == "done", meta
    assert meta["counts"]["prohibited"] == 1 and meta["counts"]["allowed"] == 1
    _, fc = c.json("GET", f"/api/checks/{r['id']}/sites")
    by_id = {row[0]: dict(zip(fc["table"]["columns"], row)) for row in fc["table"]["data"]}
    assert by_id["S1"]["verdict"] == "prohibited" and by_id["S2"]["name"] == "仓库 & 码头"
    _, found = c.json("GET", f"/api/checks/{r['id']}/findings", query={"site": "S1"})
    assert any(f["zone_class"] == "a" and f["relation"] == "inside" for f in found["findings"])
    for name in ("results.csv", "results.xlsx", "results.gpkg", "results.geojson", "detail.csv", "report.html"):
        status, headers, body = c.request("GET", f"/api/checks/{r['id']}/files/{name}")
        assert status == 200 and len(body) > 100, name
        assert "attachment" in headers["content-disposition"]
    csv = c.request("GET", f"/api/checks/{r['id']}/files/results.csv")[2].decode("utf-8-sig")
    assert "S1" in csv and "prohibited" in csv
    events = [json.loads(x) for x in (data / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    check = next(e for e in events if e["event"] == "check" and e["check"] == r["id"])
    assert check["layerset"] == "tiny" and len(check["content_hash"]) == 64 and check["input"] == "sites.geojson"


def test_bad_file_gives_the_cli_line_and_no_results(local_app):
    _, port, _ = local_app
    c = Client(port)
    c.start_local()
    status, r = c.upload(b"a,b\n1,2\n", "sites.csv", project_type="T03")
    assert status == 202
    meta = c.wait(r["id"])
    assert meta["status"] == "failed" and meta["error"].startswith("ecozone: error: ")
    assert "\n" not in meta["error"] and "sites.csv" in meta["error"] and "checks" not in meta["error"]
    assert c.request("GET", f"/api/checks/{r['id']}/files/results.csv")[0] == 404
    status, err = c.upload(b"x", "sites.exe")
    assert status == 400 and ".exe" in err["error"]


def test_drawn_polygon_is_checked(local_app):
    _, port, _ = local_app
    c = Client(port)
    c.start_local()
    poly = gpd.GeoSeries([Point(X0 + 2_000, Y0 + 2_000).buffer(300)], crs=4550).to_crs(4326).iloc[0].wkt
    status, r = c.json("POST", "/api/draw", {"wkts": [poly], "project_type": "T03"})
    assert status == 202
    assert c.wait(r["id"])["counts"]["prohibited"] == 1


def test_state_changes_need_the_csrf_token_and_this_origin(local_app):
    _, port, _ = local_app
    c = Client(port)
    c.start_local()
    assert c.request("POST", "/api/checks", tiny_sites_geojson(), query={"name": "a.geojson"}, csrf=False)[0] == 403
    bad = c.request("POST", "/api/checks", tiny_sites_geojson(), query={"name": "a.geojson"},
                    headers={"Origin": "http://evil.example"})
    assert bad[0] == 403
    # a name that rebinds to 127.0.0.1 (DNS rebinding) is not answered
    assert c.request("GET", "/api/session", headers={"Host": f"evil.example:{port}"})[0] == 403
    stranger = Client(port)  # no session: nothing changes
    assert stranger.request("POST", "/api/checks", b"{}", query={"name": "a.geojson"})[0] == 401


def test_oversize_upload_is_refused_while_reading(local_app):
    _, port, data = local_app
    c = Client(port)
    c.start_local()
    before = sorted(data.rglob("upload*"))
    status, err = c.upload(b"x" * 300_000, "big.geojson")
    assert status == 413 and "MB" in err["error"]

    def chunks():  # no Content-Length: the limit holds while the body streams in
        for _ in range(30):
            yield b"y" * 10_000
    status, _, body = c.request("POST", "/api/checks", chunks(), query={"name": "big.geojson"},
                                headers={"Transfer-Encoding": "chunked"})
    assert status == 413
    assert sorted(data.rglob("upload*")) == before  # nothing half-written stays


def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return buf.getvalue()


def test_zip_bombs_and_path_traversal_are_refused(local_app):
    _, port, _ = local_app
    c = Client(port)
    c.start_local()
    bomb = _zip({"sites.shp": b"\0" * (40 << 20)})
    assert len(bomb) < 200_000
    status, err = c.upload(bomb, "bomb.zip")
    assert status == 400 and "zip bomb" in err["error"]
    status, err = c.upload(_zip({"../../evil.shp": b"x", "a.dbf": b"y"}), "evil.zip")
    assert status == 400 and "leaves its folder" in err["error"]


def test_login_cookie_and_brake(users_app):
    app, port, folder = users_app
    c = Client(port)
    assert c.request("GET", "/api/session")[0] == 401
    assert b"login.js" in c.request("GET", "/")[2]
    assert c.login("alice", "wrong")[0] == 401
    status, info = c.login("alice", PASSWORD)
    assert status == 200
    cookie = c.set_cookie_header.lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.json("GET", "/api/session")[1]["user"] == "alice"
    assert c.request("POST", "/api/logout")[0] == 200
    assert c.request("GET", "/api/session")[0] == 401
    other = Client(port)
    for _ in range(5):
        assert other.login("carol", "nope")[0] == 401
    assert other.login("carol", "nope")[0] == 429
    events = [json.loads(x) for x in (folder / "data" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"login", "login_failed", "logout"} <= {e["event"] for e in events}


def test_a_user_never_reaches_another_users_checks(users_app):
    _, port, _ = users_app
    alice, bob = Client(port), Client(port)
    assert alice.login("alice", PASSWORD)[0] == 200
    assert bob.login("bob", PASSWORD + "!")[0] == 200
    _, r = alice.upload(tiny_sites_geojson(), "alice.geojson", project_type="T03")
    assert alice.wait(r["id"])["status"] == "done"
    cid = r["id"]
    for path in (f"/api/checks/{cid}", f"/api/checks/{cid}/sites", f"/api/checks/{cid}/files/results.csv",
                 f"/api/checks/{cid}/files/report.html", f"/api/checks/{cid}/findings?site=S1",
                 "/api/checks/..%2F..%2Fusers/files/results.csv"):
        assert bob.request("GET", path)[0] == 404, path
    assert bob.request("POST", f"/api/checks/{cid}/rerun")[0] == 404
    assert bob.request("POST", f"/api/checks/{cid}/cancel")[0] == 404
    assert bob.json("GET", "/api/checks")[1]["checks"] == []
    assert [x["id"] for x in alice.json("GET", "/api/checks")[1]["checks"]] == [cid]


def test_rerun_reports_changed_verdicts(local_app):
    _, port, _ = local_app
    c = Client(port)
    c.start_local()
    _, r = c.upload(tiny_sites_geojson(), "again.geojson", project_type="T03")
    assert c.wait(r["id"])["status"] == "done"
    status, again = c.json("POST", f"/api/checks/{r['id']}/rerun")
    meta = c.wait(again["id"])
    assert meta["parent"] == r["id"] and meta["changes"] == []  # same layer set: nothing changed


def test_open_host_needs_users(runner, tmp_path):
    res = runner.invoke(cli, ["app", "--host", "0.0.0.0", "--data", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "--users" in res.output


def test_adduser_stores_an_argon2_hash(runner, tmp_path):
    users = tmp_path / "users.json"
    res = runner.invoke(cli, ["app", "adduser", str(users), "张工"], input="s3cret-pass\n")
    assert res.exit_code == 0, res.output
    stored = json.loads(users.read_text(encoding="utf-8"))["users"]["张工"]
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in users.read_text(encoding="utf-8")
    assert oct(os.stat(users).st_mode & 0o777) == "0o600"
    res = runner.invoke(cli, ["app", "adduser", str(users), "x"], input="short\n")
    assert res.exit_code == 2 and "8" in res.output


def sites_geojson(points) -> bytes:
    gdf = gpd.GeoDataFrame({"id": [f"S{i + 1}" for i in range(len(points))], "name": [f"项目{i}" for i in range(len(points))]},
                           geometry=[Point(X0 + x, Y0 + y) for x, y in points], crs=4550)
    return gdf.to_crs(4326).to_json().encode()


def test_downloads_are_the_commands_own_bytes(local_app, runner, tmp_path):
    """A small check is answered from its result; its downloads, written when first asked for, are run_check's."""
    app, port, _ = local_app
    c = Client(port)
    c.start_local()
    data = sites_geojson([(2_000, 2_000), (9_000, 1_000), (4_000, 2_000)])
    _, r = c.upload(data, "bytes.geojson", project_type="T03")
    meta = c.wait(r["id"])
    folder = app.state.ez.store.check_dir("local", r["id"])
    assert meta["status"] == "done" and set(meta["deferred"]) == {"results.gpkg", "detail.csv"}
    assert not (folder / "results.gpkg").exists()  # nothing the page does not need yet
    _, panel = c.json("GET", f"/api/checks/{r['id']}/findings", query={"site": "S3"})
    assert panel["site"]["reasons_zh"] and any(f["zone_class"] == "b" for f in panel["findings"])
    assert {"results.gpkg", "detail.csv", "results.csv"} <= set(meta["downloads"])
    got = {n: c.request("GET", f"/api/checks/{r['id']}/files/{n}")[2] for n in ("detail.csv", "results.csv", "results.gpkg")}
    src = tmp_path / "bytes.geojson"
    src.write_bytes(data)
    root = app.state.ez.layersets.get(None).root
    for out in ("cli.gpkg", "cli.csv"):
        res = runner.invoke(cli, ["check", str(src), "--layers", str(root), "--type", "T03", "-o", str(tmp_path / out),
                                  "--detail", str(tmp_path / f"{out}.detail.csv")])
        assert res.exit_code == 0, res.output
    assert got["detail.csv"] == (tmp_path / "cli.gpkg.detail.csv").read_bytes()
    assert got["results.csv"] == (tmp_path / "cli.csv").read_bytes()
    (tmp_path / "app.gpkg").write_bytes(got["results.gpkg"])
    for layer in ("sites", "findings"):
        a, b = (gpd.read_file(tmp_path / f, layer=layer) for f in ("app.gpkg", "cli.gpkg"))
        assert a.equals(b), layer
    _, again = c.json("GET", f"/api/checks/{r['id']}")
    assert again["counts"] == meta["counts"] and again["counts"]["restricted"] == 1


def test_checks_at_once_are_checked_together_each_its_own(local_app):
    """Checks submitted together (same site ids in each file) each get their own verdicts and status at once."""
    from concurrent.futures import ThreadPoolExecutor

    _, port, _ = local_app

    def one(i):
        c = Client(port)
        c.start_local()
        where = [(2_000, 2_000), (9_000, 1_000)] if i % 2 else [(9_000, 1_000), (4_000, 2_000), (9_500, 9_500)]
        _, r = c.upload(sites_geojson(where), f"at-once-{i}.geojson", project_type="T03")
        status, meta = c.json("GET", f"/api/checks/{r['id']}", query={"wait": 10})  # answered when done
        _, view = c.json("GET", f"/api/checks/{r['id']}/sites")
        return i, status, meta, view

    with ThreadPoolExecutor(6) as ex:
        for i, status, meta, view in ex.map(one, range(6)):
            assert status == 200 and meta["status"] == "done", meta
            table = dict(zip((row[0] for row in view["table"]["data"]), (row[4] for row in view["table"]["data"])))
            if i % 2:
                assert meta["n_sites"] == 2 and table == {"S1": "prohibited", "S2": "allowed"}
            else:
                assert meta["n_sites"] == 3 and table == {"S1": "allowed", "S2": "restricted", "S3": "allowed"}
            assert view["table"]["columns"][:5] == ["site_id", "name", "project_type", "kind", "verdict"]
            assert len(view["geometry"]) == meta["n_sites"] and view["geometry"][0]["type"] == "Point"


def test_sites_checked_together_are_as_checked_alone(tiny):
    """One call of check_sites on several checks' sites, cut back, equals each check alone (real check, no mock)."""
    import pandas as pd

    from geo.app.quick import Together
    from geo.check.engine import check_sites
    from geo.sites.read import normalize_sites

    frames = []
    for k, where in enumerate([[(2_000, 2_000), (9_000, 1_000)], [(4_000, 2_000)], [(7_000, 7_600), (2_500, 2_500)]]):
        gdf = gpd.GeoDataFrame({"name": [f"s{k}{i}" for i in range(len(where))]},
                               geometry=[Point(X0 + x, Y0 + y).buffer(400) for x, y in where], crs=4550)
        frames.append(normalize_sites(gdf.to_crs(4326), path=f"f{k}"))
    together = Together(frames, tiny)
    for k, frame in enumerate(frames):
        alone, part = check_sites(frame, tiny), together.part(k)
        pd.testing.assert_frame_equal(pd.DataFrame(alone.sites), pd.DataFrame(part.sites), check_dtype=False,
                                      check_categorical=False)
        pd.testing.assert_frame_equal(alone.detail, part.detail, check_dtype=False, check_categorical=False)
        assert len(part.detail) > 0


def test_a_large_check_runs_run_check_and_draws_from_its_results(local_app, monkeypatch):
    """Past QUICK_SITES the job is run_check itself: every output written at once, the page drawn from results.gpkg."""
    import geo.app.quick

    app, port, _ = local_app
    monkeypatch.setattr(geo.app.quick, "QUICK_SITES", 1)
    c = Client(port)
    c.start_local()
    _, r = c.upload(tiny_sites_geojson(), "large.geojson", project_type="T03")
    meta = c.wait(r["id"])
    folder = app.state.ez.store.check_dir("local", r["id"])
    assert meta["status"] == "done" and "deferred" not in meta and (folder / "results.gpkg").exists()
    _, view = c.json("GET", f"/api/checks/{r['id']}/sites")
    rows = {row[0]: dict(zip(view["table"]["columns"], row)) for row in view["table"]["data"]}
    assert rows["S1"]["verdict"] == "prohibited" and rows["S2"]["name"] == "仓库 & 码头"
    assert view["table"]["data"][0][0] == "S1"  # the most severe first
    _, panel = c.json("GET", f"/api/checks/{r['id']}/findings", query={"site": "S1"})
    assert "禁止" in panel["site"]["reasons_zh"] and any(f["zone_class"] == "a" for f in panel["findings"])
