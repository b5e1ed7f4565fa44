"""Numbering equal rows and sequences: exact on the data that made hashes collide, against a Python dict."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo.check.grouping import row_ids, sequence_ids


def brute_force(keys: list):
    """Ids in order of first appearance and the first position of each id, by a dict of the keys themselves."""
    seen: dict = {}
    ids = [seen.setdefault(k, len(seen)) for k in keys]
    first = {}
    for i, k in enumerate(ids):
        first.setdefault(k, i)
    return np.array(ids, dtype=np.int64), np.array(list(first.values()), dtype=np.int64)


def lists_of(values, counts) -> list:
    start = np.cumsum(counts) - counts
    return [tuple(values[a:a + c]) for a, c in zip(start, counts)]


def check_sequences(values, counts):
    ids, first = sequence_ids(values, counts)
    want_ids, want_first = brute_force(lists_of(values, counts))
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(first, want_first)


def test_many_short_lists_that_collided_under_the_old_hash():
    """Every pair of values under 200 and every triple under 30 (the old hash gave two pairs one number), repeated."""
    rng = np.random.default_rng(0)
    lists = list(itertools.product(range(200), repeat=2)) + list(itertools.product(range(30), repeat=3))
    lists += [lists[i] for i in rng.integers(0, len(lists), 20_000)]  # the same lists again, shuffled in
    order = rng.permutation(len(lists))
    lists = [lists[i] for i in order]
    counts = np.array([len(x) for x in lists])
    values = np.array([v for x in lists for v in x])
    check_sequences(values, counts)


def test_prefixes_permutations_and_empty_lists_stay_apart():
    lists = [(), (1,), (1, 1), (1, 1, 1), (1, 2), (2, 1), (), (1, 2), (0,), (0, 0), (2, 1), (1,), (0, 1), (1, 0)]
    counts = np.array([len(x) for x in lists])
    values = np.array([v for x in lists for v in x], dtype=np.int64)
    check_sequences(values, counts)
    assert sequence_ids(values, counts).ids.tolist() == [0, 1, 2, 3, 4, 5, 0, 4, 6, 7, 5, 1, 8, 9]


@pytest.mark.parametrize("high", [2, 50_000, 1 << 40, 1 << 62])
def test_random_lists_of_any_width(high):
    """Values from a few bits to 62 bits (and negative): packed while they fit, renumbered when they do not."""
    rng = np.random.default_rng(high % 1_000)
    counts = rng.integers(0, 12, 30_000)
    counts[:50] = rng.integers(40, 90, 50)  # a few long lists
    values = rng.integers(-high, high, counts.sum())
    # and many repeats: copy some lists over others of the same length
    start = np.cumsum(counts) - counts
    for a, b in rng.integers(0, len(counts), (5_000, 2)):
        if counts[a] == counts[b]:
            values[start[b]:start[b] + counts[b]] = values[start[a]:start[a] + counts[a]]
    check_sequences(values, counts)


def test_row_ids_of_wide_and_extreme_columns():
    rng = np.random.default_rng(3)
    n = 20_000
    cols = [rng.integers(0, 3, n), rng.integers(-(1 << 62), 1 << 62, n) // (1 << 58) * (1 << 58),
            rng.integers(0, 1 << 40, n) % 7, np.where(rng.random(n) < 0.5, np.iinfo(np.int64).min, np.iinfo(np.int64).max)]
    ids, first = row_ids(*cols)
    want_ids, want_first = brute_force(list(zip(*(c.tolist() for c in cols))))
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(first, want_first)
    assert ids.max() < n // 2  # many rows are equal: the test compares groups, not only distinct rows


def test_empty_input():
    assert len(sequence_ids(np.zeros(0, np.int64), np.zeros(0, np.int64)).ids) == 0
    assert len(row_ids(np.zeros(0, np.int64), np.zeros(0, np.int64)).first) == 0
