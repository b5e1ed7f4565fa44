"""Numbering equal rows and equal sequences of integers, exactly.

Sites with the same list of findings share one text, and grid cells with the
same zones share one combination: both need the distinct lists numbered. The
numbers here come from the values themselves, packed into integers, never from
a hash that two different lists could share. Ids are given in order of first
appearance.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["Groups", "row_ids", "sequence_ids"]


class Groups(NamedTuple):
    """``ids[i]``: the id of row (or sequence) ``i``, numbered from 0 in order of first appearance;
    ``first[k]``: the first row with id ``k``."""

    ids: np.ndarray
    first: np.ndarray


def _first_rows(ids: np.ndarray) -> np.ndarray:
    """The first row of each id, for ids numbered in order of first appearance."""
    seen = np.empty(len(ids), dtype=np.int64)
    seen[:1] = -1
    np.maximum.accumulate(ids[:-1], out=seen[1:])
    return np.flatnonzero(ids > seen)


def _dense(values: np.ndarray) -> tuple:
    """``values`` renumbered 0, 1, ... in order of first appearance (exact), and the bits the numbers need."""
    ids, uniq = pd.factorize(values)
    return ids.astype(np.int64, copy=False), (len(uniq) - 1).bit_length()


def row_ids(*columns) -> Groups:
    """Ids of equal rows of integer columns: rows with the same values in every column share an id.

    The columns are packed into one int64 per row, each in the bits its range
    needs; when the next column does not fit, the rows packed so far are first
    renumbered densely (:func:`pandas.factorize`, which compares values, not
    hashes), which frees the bits.
    """
    columns = [np.asarray(c, dtype=np.int64) for c in columns]
    if not len(columns[0]):
        return Groups(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    key, used = np.zeros(len(columns[0]), dtype=np.int64), 0
    for c in columns:
        lo = int(c.min())
        bits = (int(c.max()) - lo).bit_length()
        if bits > 62:
            c, bits = _dense(c)
            lo = 0
        if used + bits > 63:
            key, used = _dense(key)
            if used + bits > 63:
                c, bits = _dense(c)
                lo = 0
        if bits:
            key <<= bits
            key |= c - lo if lo else c
            used += bits
    ids = _dense(key)[0]
    return Groups(ids, _first_rows(ids))


def sequence_ids(values, counts) -> Groups:
    """Ids of equal sequences: sequence ``i`` is the next ``counts[i]`` of ``values`` (laid end to end).

    Sequences of one length are rows of a table (one column per position)
    numbered by :func:`row_ids`; sequences of different lengths never share an id.
    """
    values = np.asarray(values, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    start = np.cumsum(counts) - counts
    n_of_length = np.bincount(counts) if len(counts) else np.zeros(0, dtype=np.int64)
    short = counts.astype(np.uint16) if len(n_of_length) <= 1 << 16 else counts  # (a radix sort)
    by_length = np.argsort(short, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(n_of_length)])
    key = np.empty(len(counts), dtype=np.int64)  # equal for equal sequences, distinct otherwise
    offset = 0
    for length in np.flatnonzero(n_of_length):
        seqs = by_length[bounds[length]:bounds[length + 1]]
        if length == 0:
            key[seqs] = offset
            offset += 1
            continue
        table = values[start[seqs][:, None] + np.arange(length)]
        local = row_ids(*table.T).ids
        key[seqs] = offset + local
        offset += int(local.max()) + 1
    return row_ids(key)
