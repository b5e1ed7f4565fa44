"""Work on several threads gives what one thread gives; a worker process uses one thread."""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest
import shapely

from geo.threads import default_jobs, in_threads, mark_worker, threads_per_process


def test_slices_come_back_in_order():
    geoms = shapely.points(np.arange(50_000.0), np.zeros(50_000)).astype(object)
    parts = in_threads(lambda g: shapely.buffer(g, 1.0), geoms)
    assert len(parts) == threads_per_process()
    got = np.concatenate(parts)
    assert np.array_equal(shapely.get_x(shapely.centroid(got)).round(6), np.arange(50_000.0))


def _in_worker(_):
    mark_worker()
    return threads_per_process()


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_a_marked_worker_uses_one_thread_and_its_parent_all():
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.map(_in_worker, [0]) == [1]
    assert threads_per_process() == default_jobs() >= 1
