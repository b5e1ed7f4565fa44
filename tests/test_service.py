"""``ecozone serve`` and ``ecozone check --service``: the same files, messages and exit codes as the plain command."""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pyproj
import pytest

from conftest import X0, Y0, make_tiny_layerset

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "layers/jinpu/demo_sites.csv")
ECOZONE = [sys.executable, "-c", "from geo.cli.main import cli; cli()"]


def ecozone(*args, cwd=ROOT):
    return subprocess.run([*ECOZONE, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


class Service:
    def __init__(self, layers):
        self.proc = subprocess.Popen([*ECOZONE, "serve", "--layers", str(layers), "--port", "0"], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "http://127.0.0.1:" in line, line
        self.url = line[line.index("http://"):].split()[0]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def service():
    s = Service(ROOT / "layers/jinpu")
    yield s
    s.stop()


def test_same_outputs_and_summary_as_the_plain_command(service, tmp_path):
    plain = ecozone("check", DEMO, "-o", tmp_path / "a.csv", "--detail", tmp_path / "a_detail.csv")
    # relative paths are the client's: the service runs elsewhere
    served = ecozone("check", DEMO, "-o", "b.csv", "--detail", "b_detail.csv", "--service", service.url, cwd=tmp_path)
    assert plain.returncode == served.returncode == 0, served.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a_detail.csv").read_bytes() == (tmp_path / "b_detail.csv").read_bytes()
    assert served.stderr == plain.stderr and "checked 8 sites against jinpu" in served.stderr


def test_fail_on_and_report_through_the_service(service, tmp_path):
    r = ecozone("check", DEMO, "-o", tmp_path / "r.json", "--report", tmp_path / "r.html", "--fail-on", "prohibited",
                "--service", service.url)
    assert r.returncode == 3, r.stderr
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["counts"]["prohibited"] == 3
    assert "核查报告" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_bad_input_is_one_line_and_exit_2(service, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("site_id,lon,lat\nA,121.9,39.1\nB,abc,39.1\n", encoding="utf-8")
    plain = ecozone("check", bad, "-o", tmp_path / "a.csv")
    served = ecozone("check", bad, "-o", tmp_path / "b.csv", "--service", service.url)
    assert plain.returncode == served.returncode == 2
    assert served.stderr == plain.stderr and len(served.stderr.splitlines()) == 1 and "row" in served.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]  # nothing half-written
    other = ecozone("check", DEMO, "--layers", "layers/dalian", "-o", tmp_path / "c.csv", "--service", service.url)
    assert other.returncode == 2 and "serves layer set jinpu" in other.stderr and len(other.stderr.splitlines()) == 1
    assert not (tmp_path / "c.csv").exists()


def test_the_client_starts_without_the_geometry_libraries():
    code = ("import sys; from geo.cli.main import cli; import geo.cli.check, geo.service; "
            "print(sorted(m for m in ('geopandas', 'shapely', 'pandas', 'pyproj') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_no_service_is_a_clear_error(tmp_path):
    r = ecozone("check", DEMO, "-o", tmp_path / "a.csv", "--service", "http://127.0.0.1:9")
    assert r.returncode == 2 and r.stderr.startswith("ecozone: error: no check service answers at")
    assert "Traceback" not in r.stderr and not (tmp_path / "a.csv").exists()


def test_only_json_from_this_machine_is_answered(service, tmp_path):
    u = urlsplit(service.url)
    body = json.dumps({"params": {"out": str(tmp_path / "x.csv")}})

    def post(headers):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            c.request("POST", "/check", body=body, headers=headers)
            return c.getresponse().status
        finally:
            c.close()

    assert post({"Content-Type": "text/plain"}) == 415  # what a web page may send without asking
    assert post({"Content-Type": "application/json", "Host": "evil.example:80"}) == 403  # DNS rebinding
    assert not (tmp_path / "x.csv").exists()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", "/")
    info = json.loads(c.getresponse().read())
    c.close()
    assert info["layerset"] == "jinpu" and len(info["content_hash"]) == 64


def test_an_edited_rule_table_is_read_again(tmp_path):
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
        rules.write_text(rules.read_text(encoding="utf-8").replace("A-ALL,zones,a,*,in,,*,*,prohibited",
                                                                   "A-ALL,zones,a,*,in,,*,*,restricted"), encoding="utf-8")
        assert verdict() == "restricted"
    finally:
        s.stop()
