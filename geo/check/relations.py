"""How a site meets a zone: inside, overlaps, crosses, touches or near; and what it does to a corridor: cuts or along."""
from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Relation", "LABELS", "NETWORK", "TOUCH_SHARE", "relation_of_overlap"]

#: an overlap under the contact tolerance is boundary contact only when it is also under this share of the site
TOUCH_SHARE = 0.01


class Relation(IntEnum):
    """A finding's relation; the value is its code in arrays (a smaller code wins for one site and zone)."""

    INSIDE = 0
    OVERLAPS = 1
    CROSSES = 2
    TOUCHES = 3
    NEAR = 4
    #: network findings (:mod:`geo.network.impact`), rows beside the site's finding of the corridor
    CUTS = 5
    ALONG = 6

    @property
    def label(self) -> str:
        """The word the outputs carry (``inside``...), a key of :data:`geo.text.RELATIONS`."""
        return self.name.lower()


#: the label of each code
LABELS = [r.label for r in Relation]
#: the labels of the network relations: a rule naming one applies to such findings only
NETWORK = (Relation.CUTS.label, Relation.ALONG.label)


def relation_of_overlap(overlap: np.ndarray, share: np.ndarray, is_line: np.ndarray, *,
                        touch_area_m2: float, touch_length_m: float) -> np.ndarray:
    """The relation of parcels and lines to the zones they meet, from the overlap (m² or m) and its share of the site.

    The whole site in the zone is ``INSIDE``; an overlap under the tolerance
    that is also a sliver of the site (under :data:`TOUCH_SHARE`) is boundary
    contact (``TOUCHES``): a small site inside or across a zone is inside or
    overlapping, whatever its size. Otherwise a line ``CROSSES``, a parcel ``OVERLAPS``.
    """
    tol = np.where(is_line, touch_length_m, touch_area_m2)
    touch = (overlap < tol) & (share < TOUCH_SHARE)
    return np.where(share >= 1 - 1e-9, Relation.INSIDE,
                    np.where(touch, Relation.TOUCHES, np.where(is_line, Relation.CROSSES, Relation.OVERLAPS)))
