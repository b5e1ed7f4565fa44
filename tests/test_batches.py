"""Batches checked by forked worker processes: same results, warnings and errors reach the caller."""
from __future__ import annotations

import os

import pandas as pd
import pytest
import shapely

from geo.check import check_sites
from geo.errors import CoverageWarning
from geo.check.batches import checked_batches
from geo.results import ResultWriter
from geo.sites.read import sites_from_inline


def _sites(n):
    # points across the tiny layer set (zones A and B, both coverage edges), every fifth site a parcel;
    # the first parcel straddles the western edge of the coverage
    wkts = [shapely.box(121.843 + i * 0.0035, 39.11, 121.846 + i * 0.0035, 39.12).wkt if i % 5 == 0 else
            f"POINT ({121.83 + i * 0.0035} 39.116)" for i in range(n)]
    return sites_from_inline(wkts=wkts, project_type="T03")


def test_parallel_equals_serial_and_warnings_come_back(tiny):
    sites = _sites(40)
    with pytest.warns(CoverageWarning):
        whole = check_sites(sites, tiny)
    with pytest.warns(CoverageWarning):  # raised in a worker, raised again here
        parts = list(checked_batches(sites, tiny, size=7, jobs=2))
    assert len(parts) == 6
    assert all(p.layerset is tiny for p in parts)
    got = pd.concat([pd.DataFrame(p.sites.drop(columns="geometry")) for p in parts], ignore_index=True)
    exp = pd.DataFrame(whole.sites.drop(columns="geometry"))
    pd.testing.assert_frame_equal(got.astype(str), exp.astype(str))
    detail = pd.concat([p.detail for p in parts], ignore_index=True).drop(columns="_s")
    pd.testing.assert_frame_equal(detail.astype(str), whole.detail.drop(columns="_s").astype(str))


def _boom(result):
    if os.getpid() != PARENT:
        raise ValueError(f"batch of {len(result.sites)} failed")
    return result


PARENT = os.getpid()


def test_an_error_in_a_worker_reaches_the_caller(tiny):
    with pytest.raises(ValueError, match="batch of 7 failed"):
        list(checked_batches(_sites(20), tiny, size=7, prepare=_boom, jobs=2))


def test_workers_write_the_csv_rows_and_the_caller_appends_them_in_order(tiny, tmp_path):
    sites = _sites(40)
    got = {}
    for jobs in (1, 2):
        out, det = tmp_path / f"r{jobs}.csv", tmp_path / f"d{jobs}.csv"
        with pytest.warns(CoverageWarning), ResultWriter(out, detail=det) as writer:
            prepare = writer.remote() if jobs > 1 else writer.prepare
            for batch in checked_batches(sites, tiny, size=7, prepare=prepare, jobs=jobs, numbered=jobs > 1):
                assert (jobs > 1) == bool(batch.files) and (jobs > 1) != bool(batch.tables)
                writer.add(batch)
        got[jobs] = out.read_bytes(), det.read_bytes()
    assert got[1] == got[2] and got[1][0].count(b"\n") == 41
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d1.csv", "d2.csv", "r1.csv", "r2.csv"]


def test_a_failed_run_leaves_no_csv_part(tiny, tmp_path):
    with pytest.raises(RuntimeError, match="stop"), pytest.warns(CoverageWarning), \
            ResultWriter(tmp_path / "r.csv") as writer:
        for batch in checked_batches(_sites(40), tiny, size=7, prepare=writer.remote(), jobs=2, numbered=True):
            writer.add(batch)
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_csv_parts_are_appended_in_the_kernel_or_read_and_written(tiny, tmp_path, monkeypatch):
    import geo.results

    sites = _sites(40)
    got = []
    for kernel in (True, False):
        if not kernel:  # (a kernel or file system without copy_file_range)
            monkeypatch.setattr(geo.results.os, "copy_file_range", lambda *a: (_ for _ in ()).throw(OSError(38, "no")))
        out = tmp_path / f"r{kernel}.csv"
        with pytest.warns(CoverageWarning), ResultWriter(out) as writer:
            for batch in checked_batches(sites, tiny, size=7, prepare=writer.remote(), jobs=2, numbered=True):
                writer.add(batch)
        got.append(out.read_bytes())
    assert got[0] == got[1] and got[0].count(b"\n") == 41 and got[0].startswith(b'\xef\xbb\xbf"site_id"')
