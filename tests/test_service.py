"""``ecozone serve`` and ``ecozone check --service``: the same files, messages and exit codes as the plain command."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import pytest
from shapely.geometry import Point

from conftest import X0, Y0, make_tiny_layerset
from geo.cli.check import params_of, run
from geo.layerset import source_files, source_hash
from geo.service import _gone, key_path

ROOT = Path(__file__).resolve().parents[1]
JINPU = str(ROOT / "layers/jinpu")
DEMO = str(ROOT / "layers/jinpu/demo_sites.csv")
ECOZONE = [sys.executable, "-c", "from geo.cli.main import cli; cli()"]


def ecozone(*args, cwd=ROOT, env=None):
    return subprocess.run([*ECOZONE, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=None if env is None else {**os.environ, **env})


class Service:
    def __init__(self, layers):
        self.proc = subprocess.Popen([*ECOZONE, "serve", "--layers", str(layers), "--port", "0"], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "http://127.0.0.1:" in line, line
        self.url = line[line.index("http://"):].split()[0]
        self.port = urlsplit(self.url).port

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def service():
    s = Service(JINPU)
    yield s
    s.stop()


def test_same_outputs_and_messages_as_the_plain_command(service, tmp_path):
    args = ["check", DEMO, "--layers", JINPU, "-o", "r.csv", "--detail", "d.csv"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = ecozone(*args, cwd=tmp_path / "a")
    served = ecozone(*args, "--service", service.url, cwd=tmp_path / "b")  # paths are the client's
    assert plain.returncode == served.returncode == 0, served.stderr
    for f in ("r.csv", "d.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert served.stderr == plain.stderr and "checked 8 sites against jinpu" in served.stderr
    # from the project folder the default --layers is the service's set
    r = ecozone("check", DEMO, "-o", tmp_path / "c.csv", "--service", service.url)
    assert r.returncode == 0 and (tmp_path / "c.csv").read_bytes() == (tmp_path / "a" / "r.csv").read_bytes()


def test_geojson_results_are_the_same_file(service, tmp_path):
    plain = ecozone("check", DEMO, "-o", tmp_path / "a" / "r.geojson")
    served = ecozone("check", DEMO, "-o", tmp_path / "b" / "r.geojson", "--service", service.url)
    assert plain.returncode == served.returncode == 0
    a, b = ((tmp_path / d / "r.geojson").read_bytes() for d in "ab")
    assert a == b and json.loads(a)["name"] == "r"  # named after the file, not its temporary name


def test_fail_on_and_report_through_the_service(service, tmp_path):
    r = ecozone("check", DEMO, "-o", tmp_path / "r.json", "--report", tmp_path / "r.html", "--fail-on", "prohibited",
                "--service", service.url)
    assert r.returncode == 3, r.stderr
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["counts"]["prohibited"] == 3
    assert "核查报告" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_bad_input_is_the_same_one_line_and_exit_2(service, tmp_path):
    (tmp_path / "bad.csv").write_text("site_id,lon,lat\nA,121.9,39.1\nB,abc,39.1\n", encoding="utf-8")
    plain = ecozone("check", "bad.csv", "--layers", JINPU, "-o", "a.csv", cwd=tmp_path)
    served = ecozone("check", "bad.csv", "--layers", JINPU, "-o", "b.csv", "--service", service.url, cwd=tmp_path)
    assert plain.returncode == served.returncode == 2
    assert served.stderr == plain.stderr and served.stderr.startswith("ecozone: error: bad.csv, row 3")
    assert len(served.stderr.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]  # nothing half-written
    other = ecozone("check", DEMO, "--layers", "layers/dalian", "-o", tmp_path / "c.csv", "--service", service.url)
    assert other.returncode == 2 and "serves layer set jinpu" in other.stderr and len(other.stderr.splitlines()) == 1
    assert not (tmp_path / "c.csv").exists()


def test_info_lines_follow_verbose(service, tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["金州水库"]}, geometry=[Point(121.905108, 39.0930171)], crs=4326)
    pyogrio.write_dataframe(gdf, tmp_path / "s.shp", encoding="UTF-8")
    (tmp_path / "s.cpg").unlink()
    plain = ecozone("-v", "check", "s.shp", "--layers", JINPU, "--type", "T03", "-o", "a.csv", cwd=tmp_path)
    served = ecozone("-v", "check", "s.shp", "--layers", JINPU, "--type", "T03", "-o", "b.csv",
                     "--service", service.url, cwd=tmp_path)
    assert served.returncode == plain.returncode == 0
    assert served.stderr == plain.stderr and "s.shp: no .cpg" in served.stderr


def test_no_service_is_a_clear_error(tmp_path):
    r = ecozone("check", DEMO, "-o", tmp_path / "a.csv", "--service", "http://127.0.0.1:9")
    assert r.returncode == 2 and r.stderr.startswith("ecozone: error: no check service answers at")
    assert "Traceback" not in r.stderr and not (tmp_path / "a.csv").exists()


def test_the_service_answers_its_own_account_only(service, tmp_path):
    key = key_path(service.port)
    assert key.stat().st_mode & 0o077 == 0  # readable by the account that started the service only
    body = json.dumps({"cwd": str(tmp_path), "params": {"layers_dir": JINPU, "out": "x.csv"}})
    ok = {"Content-Type": "application/json", "X-Ecozone-Key": key.read_text()}
    assert service.request("POST", "/check", body, {"Content-Type": "application/json"})[0] == 403  # no key
    assert service.request("POST", "/check", body, {**ok, "Content-Type": "text/plain"})[0] == 415  # a web page's
    assert service.request("POST", "/check", body, {**ok, "Host": "evil.example:80"})[0] == 403  # DNS rebinding
    assert not (tmp_path / "x.csv").exists()
    status, info = service.request("GET", "/", headers=ok)
    assert status == 200 and json.loads(info)["layerset"] == "jinpu"


def test_a_stopped_service_leaves_no_key_file():
    s = Service(JINPU)
    key = key_path(s.port)
    assert key.exists()
    s.stop()  # SIGTERM
    assert s.proc.returncode == 0 and not key.exists()


def test_proxies_and_idle_connections_do_not_get_in_the_way(service, tmp_path):
    idle = socket.create_connection(("127.0.0.1", service.port))  # connects and says nothing
    try:
        r = ecozone("check", DEMO, "-o", tmp_path / "a.csv", "--service", service.url,
                    env={"http_proxy": "http://proxy.invalid:3128", "HTTP_PROXY": "http://proxy.invalid:3128"})
    finally:
        idle.close()
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.csv").exists()


def test_a_check_whose_client_went_away_writes_nothing(jinpu, tmp_path):
    p = params_of([DEMO, "-o", str(tmp_path / "r.gpkg"), "--detail", str(tmp_path / "d.csv"),
                   "--report", str(tmp_path / "r.html")])
    with pytest.raises(InterruptedError):
        run(jinpu, p, stop=lambda: True)
    assert not list(tmp_path.iterdir())
    a, b = socket.socketpair()
    assert not _gone(a)
    b.close()
    assert _gone(a)
    a.close()


def test_edited_rules_are_read_again(tmp_path):
    root = make_tiny_layerset(tmp_path / "tiny")
    lon, lat = pyproj.Transformer.from_crs(4550, 4326, always_xy=True).transform(X0 + 2_000, Y0 + 2_000)  # zone A
    s = Service(root)
    try:
        def verdict():
            r = ecozone("check", "--point", f"{lon},{lat}", "--type", "T01", "--layers", root, "-o", tmp_path / "r.csv",
                        "--service", s.url)
            assert r.returncode == 0, r.stderr
            return pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")["verdict"][0]

        assert verdict() == "prohibited"
        rules = root / "rules.csv"
        st = rules.stat()
        text = rules.read_text(encoding="utf-8")
        rules.write_text(text.replace("A-ALL,zones,a,*,in,,*,*,prohibited", "A-ALL,zones,a,*,in,,*,*,restricted"),
                         encoding="utf-8")
        os.utime(rules, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same time (as cp -p leaves it)
        assert rules.stat().st_size == st.st_size
        assert verdict() == "restricted"
    finally:
        s.stop()


def test_a_rule_table_the_manifest_names_is_a_source(tmp_path):
    root = make_tiny_layerset(tmp_path / "tiny")
    (root / "tables").mkdir()
    (root / "rules.csv").rename(root / "tables" / "zoning.csv")
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('rules = "rules.csv"', 'rules = "tables/zoning.csv"'),
                        encoding="utf-8")
    assert root / "tables" / "zoning.csv" in source_files(root)
    before = source_hash(root)
    with open(root / "tables" / "zoning.csv", "a", encoding="utf-8") as fh:
        fh.write("B-T01,zones,b,T01,in,,*,*,prohibited,禁止,none,测试条款八,false\n")
    assert source_hash(root) != before  # the build is stale and is made again


def test_the_client_starts_without_the_geometry_libraries():
    code = ("import sys; from geo.cli.main import cli; import geo.cli.check, geo.service; "
            "print(sorted(m for m in ('geopandas', 'shapely', 'pandas', 'pyproj', 'numpy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
