"""Relations: their codes, their words, and the relation an overlap makes."""
from __future__ import annotations

import numpy as np

from geo.check.relations import LABELS, NETWORK, Relation, relation_of_overlap
from geo.text import RELATIONS


def test_labels_are_the_words_the_outputs_and_texts_use():
    assert LABELS == list(RELATIONS) == ["inside", "overlaps", "crosses", "touches", "near", "cuts", "along"]
    assert [Relation[w.upper()] for w in LABELS] == list(Relation)
    assert NETWORK == ("cuts", "along") and all(Relation[w.upper()] > Relation.NEAR for w in NETWORK)


def test_relation_of_overlap():
    overlap = np.array([1_000.0, 400.0, 400.0, 0.5, 0.5, 0.25, 0.5])
    share = np.array([1.0, 0.4, 0.4, 0.005, 0.005, 1.0, 0.8])
    is_line = np.array([False, False, True, False, True, False, True])
    got = relation_of_overlap(overlap, share, is_line, touch_area_m2=1.0, touch_length_m=1.0)
    assert [Relation(r).label for r in got] == [
        "inside", "overlaps", "crosses",
        "touches", "touches",  # a sliver under the tolerance and under 1 % of the site
        "inside", "crosses",  # small sites inside or across a zone, not boundary contact
    ]
