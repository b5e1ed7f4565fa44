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
    by_id = {f["properties"]["site_id"]: f["properties"] for f in fc["features"]}
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
