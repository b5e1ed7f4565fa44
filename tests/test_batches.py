"""Batches checked by forked worker processes: same results, warnings and errors reach the caller."""
from __future__ import annotations

import os

import pandas as pd
import pytest
import shapely

from geo.check import check_sites
from geo.errors import CoverageWarning
from geo.check.batches import checked_batches
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
