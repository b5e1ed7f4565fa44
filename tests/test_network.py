"""The network of a layer set and its connectivity indices: small graphs computed by hand, Jinpu, the CLI."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import pyogrio
import pytest

from geo.cli.main import cli
from geo.errors import LayerSetError
from geo.network.graph import build_network, network_config, ranked
from geo.network.indices import Graph, decay_k, iic, importance, pc


def chain():
    """Areas 1, 2, 3 in a chain 0–1–2, p = 0.5 on each edge, A_L = 10."""
    return Graph(np.array([1.0, 2.0, 3.0]), np.array([0, 1]), np.array([1, 2]), np.array([0.5, 0.5]), 10.0)


def test_two_nodes_by_hand():
    g = Graph(np.array([1.0, 1.0]), np.array([0]), np.array([1]), np.array([0.5]), 4.0)
    assert iic(g) == pytest.approx((1 + 1 + 2 * 1 / 2) / 16)
    assert pc(g) == pytest.approx((1 + 1 + 2 * 0.5) / 16)


def test_chain_by_hand():
    g = chain()
    # nl: 0-1 = 1, 1-2 = 1, 0-2 = 2; p*: 0.5, 0.5, 0.25
    assert iic(g) == pytest.approx((1 + 4 + 9 + 2 * (2 / 2 + 6 / 2 + 3 / 3)) / 100)
    assert pc(g) == pytest.approx((14 + 2 * (1 + 3 + 0.75)) / 100)


def test_contact_edge_of_probability_one_is_an_edge():
    g = Graph(np.array([1.0, 1.0]), np.array([0]), np.array([1]), np.array([1.0]), 2.0)
    assert pc(g) == pytest.approx(1.0)  # one reachable habitat filling the landscape
    lone = Graph(np.array([1.0, 1.0]), np.array([], dtype=int), np.array([], dtype=int), np.array([]), 2.0)
    assert pc(lone) == pytest.approx(0.5)


def test_dpc_and_its_parts_by_hand():
    g = chain()
    imp = importance(g, np.array([0, 1]))
    num = 23.5  # PC · A_L²
    assert imp.node_dpc[1] == pytest.approx(100 * (num - 10) / num)  # without the middle node: 1 + 9 only
    assert imp.node_intra[1] == pytest.approx(100 * 4 / num)
    assert imp.node_flux[1] == pytest.approx(200 * 2 * (1 * 0.5 + 3 * 0.5) / num)
    assert imp.node_connector[1] == pytest.approx(100 * 2 * 1 * 3 * 0.25 / num)
    assert imp.node_connector[0] == pytest.approx(0.0, abs=1e-12)  # an end node connects nothing
    assert imp.link_dpc[0] == pytest.approx(100 * (num - 20) / num)  # 0–1 cut: 1+4+9 + 2·2·3·0.5
    assert imp.node_diic[1] == pytest.approx(100 * (24 - 10) / 24)


def test_parallel_links_make_each_redundant():
    g = Graph(np.array([1.0, 1.0]), np.array([0, 0]), np.array([1, 1]), np.array([0.5, 0.5]), 4.0)
    imp = importance(g, np.array([0, 1]))
    assert list(imp.link_dpc) == [0.0, 0.0]
    assert importance(g, np.array([0, 0])).link_dpc[0] > 0  # both together


def test_decay_gives_the_probability_at_the_distance():
    k = decay_k(2000, 0.5)
    assert math.exp(-k * 2000) == pytest.approx(0.5)
    assert math.exp(-k * 4000) == pytest.approx(0.25)


def test_jinpu_network(jinpu):
    t = time.perf_counter()
    net = build_network(jinpu)
    nodes, links, s = ranked(net)
    assert time.perf_counter() - t < 5  # the benchmark measures it; here only a guard
    assert set(nodes["layer"]) == {"eco_cores", "eco_sources"} and len(nodes) == 19
    assert 0 < s["PC"] <= s["IIC"] <= 1
    # the cores lie inside the central source: counted once (core's own area, the source less the cores)
    cores = nodes[nodes["layer"] == "eco_cores"]
    central = nodes[nodes["name_en"] == "Central mountain forest source"].iloc[0]
    assert central["area_m2"] < central.geometry.area - cores["area_m2"].sum() + 1
    dawei = links[links["name_zh"] == "大魏家河生态廊道"].iloc[0]
    assert dawei["width_m"] == 200 and dawei["length_m"] > 5000
    sanshili = links[links["name_zh"] == "三十里河生态廊道"].iloc[0]
    assert sanshili["dPC"] > 1 and sanshili["rank"] == 1  # the one corridor joining the central source to Bohai
    assert links["dPC"].between(0, 100).all() and nodes["dPC"].between(0, 100).all()


def test_a_longer_decay_raises_pc(jinpu):
    assert ranked(build_network(jinpu, decay_m=20000))[2]["PC"] > ranked(build_network(jinpu, decay_m=1000))[2]["PC"]


@pytest.mark.parametrize("table, match", [
    ({"nodes": ["nope"]}, "not a polygon layer"),
    ({"nodes": ["eco_cores"], "links": ["coastline"]}, "not a polygon layer"),
    ({"nodes": []}, "not a list"),
    ({"nodes": ["eco_cores"], "decay_m": -5}, "decay_m"),
    ({"nodes": ["eco_cores"], "probability": 1.5}, "probability"),
    ({"nodes": ["eco_cores"], "speed": 1}, "unknown keys"),
])
def test_a_wrong_network_table_is_one_error(jinpu, table, match):
    ls = copy.copy(jinpu)
    ls.manifest = {**jinpu.manifest, "network": table}
    with pytest.raises(LayerSetError, match=match) as err:
        network_config(ls)
    assert "manifest.toml" in str(err.value)


def test_network_command_writes_layers_and_prints(runner, tmp_path):
    out = tmp_path / "net.gpkg"
    r = runner.invoke(cli, ["network", "layers/jinpu", "-o", str(out), "--top", "3"])
    assert r.exit_code == 0, r.output
    assert "IIC" in r.output and "三十里河生态廊道" in r.output
    names = [n for n, _ in pyogrio.list_layers(out)]
    assert names == ["nodes", "links", "indices"]
    nodes = pyogrio.read_dataframe(out, layer="nodes")
    assert nodes.crs.to_epsg() == 4490 and "dPC" in nodes and len(nodes) == 19
    table = pyogrio.read_dataframe(out, layer="indices")
    assert set(table["name"]) >= {"IIC", "PC", "decay_m"}
    again = runner.invoke(cli, ["network", "layers/jinpu", "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    bad = runner.invoke(cli, ["network", "layers/jinpu", "--decay-m", "0"])
    assert bad.exit_code == 2


def test_network_command_without_a_network(runner, tiny):
    r = runner.invoke(cli, ["network", str(tiny.root)])
    assert r.exit_code == 2 and "[network]" in r.output


def test_layers_prints_the_indices(runner):
    r = runner.invoke(cli, ["layers", "layers/jinpu"])
    assert r.exit_code == 0 and "PC 0.0" in r.output and "IIC" in r.output
