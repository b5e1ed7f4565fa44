"""``ecozone serve`` and ``ecozone check --service``: the same files, messages and exit codes as the plain command."""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
from shapely.geometry import Point

from conftest import X0, Y0, make_tiny_layerset
from geo.check.pipeline import CheckParams, run_check
from geo.cli.check import command
from geo.errors import ServiceError
from geo.layerset import source_files, source_hash
from geo.service import CheckServer, CheckService, check_remote, key_path, service_info
from geo.service.keys import write_key
from geo.service.protocol import PROOF_HEADER, mac, request_params
from geo.service.server import _gone

ROOT = Path(__file__).resolve().parents[1]
JINPU = str(ROOT / "layers/jinpu")
DEMO = str(ROOT / "layers/jinpu/demo_sites.csv")
ECOZONE = [sys.executable, "-c", "from geo.cli.main import cli; cli()"]


def client_params(args: list) -> dict:
    """The parameters ``ecozone check ARGS --service URL`` sends."""
    p = command.make_context("check", list(args)).params
    p.pop("service")
    return {**p, "points": list(p["points"]), "wkts": list(p["wkts"])}


def ecozone(*args, cwd=ROOT, env=None):
    return subprocess.run([*ECOZONE, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=None if env is None else {**os.environ, **env})


class Service:
    """``ecozone [OPTS] serve`` in its own process; its log lines are collected as they come."""

    def __init__(self, layers, *opts):
        self.proc = subprocess.Popen([*ECOZONE, *opts, "serve", "--layers", str(layers), "--port", "0"], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log, self._seen = [], threading.Condition()
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()
        line = self.wait_for(r"http://127\.0\.0\.1:\d+", timeout=120)
        self.url = line[line.index("http://"):].split()[0]
        self.port = urlsplit(self.url).port

    def _read(self):
        for line in self.proc.stderr:
            with self._seen:
                self.log.append(line)
                self._seen.notify_all()

    def wait_for(self, pattern, timeout=30):
        """The first log line matching ``pattern``, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = next((x for x in self.log if re.search(pattern, x)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, f"no {pattern!r} in the log:\n{''.join(self.log)}"
                self._seen.wait(left)

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
        self.proc.wait(timeout=90)
        self._drain.join(timeout=10)
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


def _hello(conn, port, key):
    """Say hello on ``conn``; check the service's proof with ``key``; the two nonces."""
    mine = secrets.token_hex(32)
    conn.request("POST", "/hello", body=json.dumps({"nonce": mine}), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    answer = json.loads(r.read())
    assert r.status == 200 and answer["proof"] == mac(key, "service", port, mine, answer["nonce"])
    return mine, answer["nonce"]


def test_the_service_answers_its_own_account_only(service, tmp_path):
    key = key_path(service.port)
    assert key.stat().st_mode & 0o777 == 0o600  # readable by the account that started the service only
    secret = key.read_text()
    body = json.dumps({"cwd": str(tmp_path), "params": {"layers_dir": JINPU, "out": "x.csv"}})
    ok = {"Content-Type": "application/json", PROOF_HEADER: secret}  # the key itself is no proof
    assert service.request("POST", "/check", body, ok)[0] == 403  # no hello
    assert service.request("POST", "/hello", body, {**ok, "Content-Type": "text/plain"})[0] == 415  # a web page's
    assert service.request("POST", "/hello", body, {**ok, "Host": "evil.example:80"})[0] == 403  # DNS rebinding
    for wrong in ("another key", secret):  # a proof made with another key, or the key sent as it is
        c = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        try:
            mine, theirs = _hello(c, service.port, secret)
            proof = mac(wrong, "client", service.port, mine, theirs, "0" * 64) if wrong != secret else secret
            c.request("POST", "/check", body=body, headers={"Content-Type": "application/json", PROOF_HEADER: proof})
            r = c.getresponse()
            assert r.status == 403 and b"account that started it" in r.read()
        finally:
            c.close()
    assert not (tmp_path / "x.csv").exists()
    info = service_info(service.url)
    assert info["layerset"] == "jinpu" and info["root"] == JINPU


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
    p = CheckParams(sites=DEMO, layers_dir=JINPU, out=str(tmp_path / "r.gpkg"), detail=str(tmp_path / "d.csv"),
                    report=str(tmp_path / "r.html"))
    with pytest.raises(InterruptedError):
        run_check(jinpu, p, stop=lambda: True)
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
                        "--overwrite", "--service", s.url)  # (the second check replaces the first one's results)
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


# -- another local account: impostors, stalls, bad requests ----------------------------------------------------

def _key_folder(tmp_path) -> tuple:
    """A key folder of this account for a client told to look there (XDG_RUNTIME_DIR)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    return run_dir, {"XDG_RUNTIME_DIR": str(run_dir)}


class Impostor(threading.Thread):
    """Another account's program listening on a port first; it records every byte a client sends it.

    ``answers`` are the bodies it gives, one per request, the last one again and again.
    """

    def __init__(self, answers):
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answers, self.received, self.connections = list(answers), bytearray(), 0

    def run(self):
        self.sock.settimeout(60)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.connections += 1
        with conn:
            conn.settimeout(30)
            n = 0
            while chunk := conn.recv(1 << 16):
                self.received += chunk
                if self.received.count(b"\r\n\r\n") <= n:
                    continue
                n += 1
                body = json.dumps(self.answers[min(n, len(self.answers)) - 1]).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))

    def close(self):
        self.sock.close()
        self.join(timeout=30)


@pytest.mark.parametrize("answers", [
    [{"code": 0, "lines": ["ecozone: 已核查 / checked 8 sites against jinpu: 8 allowed"]}],  # as the old service did
    [{"nonce": "ab" * 32, "proof": "00" * 32}, {"code": 0, "lines": []}],  # a proof made up
], ids=["answers-ok", "forged-proof"])
def test_an_impostor_on_the_port_learns_nothing_and_decides_nothing(tmp_path, answers):
    run_dir, env = _key_folder(tmp_path)
    impostor = Impostor(answers)
    impostor.start()
    key = secrets.token_hex(32)  # the key of this account's service, which the impostor cannot read
    write_key(run_dir / "ecozone" / f"serve-{impostor.port}.key", key)
    work = tmp_path / "project-秘密"
    work.mkdir()
    try:
        r = ecozone("check", DEMO, "--type", "T03", "-o", "verdicts.csv", "--fail-on", "prohibited",
                    "--service", f"http://127.0.0.1:{impostor.port}", cwd=work, env=env)
    finally:
        impostor.close()
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"ecozone: error: what answers at http://127.0.0.1:{impostor.port} is not this "
                               "account's check service") and len(r.stderr.splitlines()) == 1
    assert list(work.iterdir()) == []
    got = bytes(impostor.received)
    assert impostor.connections == 1 and b"POST /hello" in got  # it was asked to prove itself, and nothing else
    for secret in (str(work).encode(), "秘密".encode(), b"verdicts", b"demo_sites", b"T03", b"/check", key.encode()):
        assert secret not in got


def test_a_relay_to_the_real_service_is_refused(service, tmp_path):
    """Another program on another port passing the bytes on: the service's proof names its own port."""
    run_dir, env = _key_folder(tmp_path)
    relay = socket.create_server(("127.0.0.1", 0))
    port = relay.getsockname()[1]
    write_key(run_dir / "ecozone" / f"serve-{port}.key", key_path(service.port).read_text())

    def copy(src, dst):
        try:
            while chunk := src.recv(1 << 16):
                dst.sendall(chunk)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def pass_on():
        conn, _ = relay.accept()
        with conn, socket.create_connection(("127.0.0.1", service.port), timeout=30) as up:
            back = threading.Thread(target=copy, args=(up, conn), daemon=True)
            back.start()
            copy(conn, up)
            back.join(timeout=30)

    t = threading.Thread(target=pass_on, daemon=True)
    t.start()
    try:
        r = ecozone("check", DEMO, "-o", tmp_path / "r.csv", "--service", f"http://127.0.0.1:{port}", env=env)
    finally:
        relay.close()
        t.join(timeout=30)
    assert r.returncode == 2 and "a wrong proof of the key" in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "r.csv").exists()


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another account needs root")


@pytest.mark.parametrize("case, message", [
    ("symlink", "key file is a symbolic link"),
    ("mode", "key file has mode 0644, not 0600"),
    ("folder", "key folder is writable by other accounts"),
    pytest.param("owner", "key file belongs to another account", marks=ROOT_ONLY),
    pytest.param("folder-owner", "key folder belongs to another account", marks=ROOT_ONLY),
])
def test_a_key_file_others_could_touch_is_refused(tmp_path, case, message):
    run_dir, env = _key_folder(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))  # whatever listens there is never contacted
    port = listener.getsockname()[1]
    key = run_dir / "ecozone" / f"serve-{port}.key"
    if case == "symlink":
        (run_dir / "ecozone").mkdir(mode=0o700)
        write_key(tmp_path / "elsewhere.key", "k" * 64)
        key.symlink_to(tmp_path / "elsewhere.key")
    else:
        write_key(key, "k" * 64)
        if case == "mode":
            key.chmod(0o644)
        elif case == "folder":
            key.parent.chmod(0o777)
        else:
            os.chown(key if case == "owner" else key.parent, 65534, 65534)  # nobody's
    try:
        r = ecozone("check", DEMO, "-o", tmp_path / "r.csv", "--service", f"http://127.0.0.1:{port}", env=env)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1 and str(key.parent if "folder" in case else key) in r.stderr
    assert not (tmp_path / "r.csv").exists()


def _loris(port, cut: dict, i: int):
    """Send a request one byte a second; note when the service cuts the connection."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as s:
        for byte in b"POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" * 10:
            try:
                s.sendall(bytes([byte]))
                s.settimeout(1)
                if s.recv(1 << 10) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    cut[i] = (start, time.monotonic())


def test_a_slow_connection_is_cut_and_does_not_hold_up_a_check(tiny, tmp_path, monkeypatch):
    run_dir, env = _key_folder(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
    server = CheckServer(CheckService(tiny.root), 0, request_seconds=3, max_connections=4)
    port = server.server_address[1]
    write_key(key_path(port), server.service.key)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    cut, lorises = {}, []
    try:
        for i in range(6):  # more than the service takes: the oldest that did not prove themselves are cut
            lorises.append(threading.Thread(target=_loris, args=(port, cut, i), daemon=True))
            lorises[-1].start()
            time.sleep(0.05)
        lon, lat = pyproj.Transformer.from_crs(4550, 4326, always_xy=True).transform(X0 + 2_000, Y0 + 2_000)
        r = ecozone("check", "--point", f"{lon},{lat}", "--type", "T01", "--layers", tiny.root, "-o",
                    tmp_path / "r.csv", "--service", f"http://127.0.0.1:{port}", env=env)
        served = time.monotonic()
        for t in lorises:
            t.join(timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")["verdict"][0] == "prohibited"
    assert len(cut) == 6 and all(end - start < 3 + 1.5 for start, end in cut.values()), cut  # a deadline, not per byte
    assert served < max(end for _, end in cut.values()), (served, cut)  # the check did not wait for the slow ones


def _raw(port, head: bytes) -> tuple:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        data = b""
        while chunk := s.recv(1 << 16):
            data += chunk
    return int(data.split()[1]), data


def _rss(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_huge_requests_are_refused_without_reading_them(service):
    before = _rss(service.proc.pid)
    for path, length in (("/hello", 10**13), ("/check", 2 * 10**9), ("/check", 9 << 20)):
        t0 = time.monotonic()
        status, data = _raw(service.port, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                                          f"\r\nContent-Length: {length}\r\n\r\n{{".encode())
        assert status == 413 and b"bytes at most" in data and time.monotonic() - t0 < 5
    status, _ = _raw(service.port, b"POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"x" * 20_000
                     + b"\r\n\r\n")
    assert status == 431  # headers are bounded too
    assert _rss(service.proc.pid) - before < 50 << 20
    assert service_info(service.url)["layerset"] == "jinpu"  # and it goes on answering


@pytest.mark.parametrize("change, message", [
    ({"jobs": 0}, "'--jobs' / '-j': 0 is not in the range x>=1"),
    ({"fail_on": "allowed"}, "'--fail-on': 'allowed' is not one of"),
    ({"jobs": "2"}, "the check parameter jobs is '2', not as the command line gives it"),
    ({"overwrite": "no"}, "the check parameter overwrite is not true or false"),
    ({"evil": 1}, "unknown parameters ['evil']"),
    ({"service": "http://127.0.0.1:1"}, "unknown parameters ['service']"),
    ({"points": "1,2"}, "the check parameter points is not a list"),
])
def test_request_parameters_are_checked_as_the_command_line_checks_them(service, tmp_path, change, message):
    p = client_params([DEMO, "--layers", JINPU, "-o", str(tmp_path / "r.csv")])
    code, lines = check_remote(service.url, {**p, **change}, quiet=False, verbose=0)
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert lines[0].startswith("ecozone: error: the check")
    assert not (tmp_path / "r.csv").exists()
    code, lines = check_remote(service.url, p, quiet=False, verbose=0)  # as sent by the command: checked
    assert code == 0 and (tmp_path / "r.csv").exists(), lines


@pytest.mark.parametrize("change, message", [
    ({"coord_sys": "GCJ02"}, "the check parameter coord_sys is 'GCJ02', not as the command line gives it"),
    ({"points": [None]}, "the check parameter points is [None], not as the command line gives it"),
    ({"out": ["r.csv"]}, "the check parameter out is not text or a number"),
    ({"out": "adir"}, "are refused: Invalid value for '-o' / '--out': File 'adir' is a directory"),
    ({"sites": None}, "the check request names no sites; give a SITES file, --point or --wkt"),
])
def test_a_request_is_refused_before_anything_is_read(tmp_path, monkeypatch, change, message):
    (tmp_path / "adir").mkdir()
    monkeypatch.chdir(tmp_path)  # where the service runs the check: the client's folder
    p = client_params([DEMO, "--layers", JINPU, "-o", "r.csv"])
    with pytest.raises(ServiceError, match=re.escape(message)):
        request_params({**p, **change})
    assert request_params(p) == CheckParams(**p)  # what the command line sends is taken as it is


def test_a_check_stops_when_its_client_goes_away_waiting_or_running_or_the_service_stops(tmp_path):
    rng = np.random.default_rng(1)
    n = 300_000  # three batches: seconds of checking
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pd.DataFrame({"lon": rng.uniform(121.6, 122.1, n).round(5), "lat": rng.uniform(38.9, 39.6, n).round(5)}).to_csv(
        tmp_path / "a" / "many.csv", index=False)
    s = Service(JINPU, "-v")
    try:
        def client(folder, *args):
            return subprocess.Popen([*ECOZONE, "check", *args, "--layers", JINPU, "--type", "T03", "-o", "r.csv",
                                     "--detail", "d.csv", "--service", s.url],
                                    cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        a = client(tmp_path / "a", "many.csv")
        s.wait_for(rf"\({re.escape(str(tmp_path / 'a'))}\): started")
        b = client(tmp_path / "b", "--point", "121.905,39.093")
        s.wait_for(rf"\({re.escape(str(tmp_path / 'b'))}\): waiting")
        b.kill()
        b.wait(timeout=30)
        s.wait_for(rf"\({re.escape(str(tmp_path / 'b'))}\): dropped", timeout=5)
        assert not any(": done" in line for line in s.log)  # dropped while the other check still ran
        a.kill()
        a.wait(timeout=30)
        s.wait_for(rf"\({re.escape(str(tmp_path / 'a'))}\): stopped, its client went away", timeout=30)
        assert not any(": done" in line for line in s.log)
        assert [p.name for p in (tmp_path / "a").iterdir()] == ["many.csv"]  # nothing written, nothing left over
        assert list((tmp_path / "b").iterdir()) == []
        r = ecozone("check", DEMO, "-o", tmp_path / "c.csv", "--service", s.url)  # the service goes on
        assert r.returncode == 0 and (tmp_path / "c.csv").exists(), r.stderr
        a = subprocess.Popen([*ECOZONE, "check", "many.csv", "--layers", JINPU, "-o", "r.csv", "--service", s.url],
                             cwd=tmp_path / "a", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        s.wait_for(r"check 4 .*: started")
        s.stop()  # SIGTERM: the running check stops first
        assert s.proc.returncode == 0 and not key_path(s.port).exists()
        assert a.wait(timeout=30) == 2 and a.stderr.read().startswith(
            "ecozone: error: the check service stopped before the check finished; nothing written")
        a.stderr.close()
        assert [p.name for p in (tmp_path / "a").iterdir()] == ["many.csv"]
    finally:
        if s.proc.poll() is None:
            s.stop()
