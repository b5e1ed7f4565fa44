"""Land cover to resistance: the default tables (CLCD, ESA WorldCover) or a table of one's own.

The defaults are ``geo/data/resistance_clcd.csv`` (CLCD classes 1–9) and
``geo/data/resistance_worldcover.csv`` (ESA WorldCover 10–100): relative resistances
from the ranges published studies use (docs/network.md §4); values marked J are
judgement. They are a default to adapt: give ``--reclass TABLE.csv`` with columns
``class,resistance`` (others ignored) for a table of your own.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import NetworkInputError

__all__ = ["TABLES", "reclass_table", "reclassify"]

_DATA = Path(__file__).resolve().parents[1] / "data"
#: the built-in tables by name
TABLES = {"clcd": _DATA / "resistance_clcd.csv", "worldcover": _DATA / "resistance_worldcover.csv"}


def reclass_table(name_or_path) -> dict:
    """Class → resistance from a built-in table (``clcd``, ``worldcover``) or a CSV file (class,resistance)."""
    path = TABLES.get(str(name_or_path).lower(), Path(name_or_path))
    if not path.is_file():
        raise NetworkInputError("reclass table not found / 找不到重分类表", path=path,
                                hint=f"give {' or '.join(TABLES)} or a CSV file with columns class,resistance")
    table = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not {"class", "resistance"} <= set(reader.fieldnames or []):
            raise NetworkInputError("the table needs columns class and resistance / 需要 class 与 resistance 列",
                                    path=path, row=1, hint="write a header line: class,resistance")
        for row, rec in enumerate(reader, start=2):
            try:
                cls, res = int(rec["class"]), float(rec["resistance"])
            except (TypeError, ValueError):
                raise NetworkInputError(f"class {rec.get('class')!r} or resistance {rec.get('resistance')!r} is not "
                                        f"a number / 不是数字", path=path, row=row, hint="write integers and numbers") from None
            if not res > 0:
                raise NetworkInputError(f"resistance {res} of class {cls} is not positive / 阻力须为正数", path=path,
                                        row=row, column="resistance", hint="give a resistance above 0")
            table[cls] = res
    return table


def reclassify(values: np.ndarray, valid: np.ndarray, table: dict, *, path) -> np.ndarray:
    """Resistance of each cell from its land-cover class; ``inf`` (impassable) where not ``valid`` (nodata)."""
    classes = np.unique(values[valid])
    missing = [int(c) for c in classes if int(c) not in table]
    if missing:
        raise NetworkInputError(f"land-cover classes {missing[:10]} are not in the reclass table / 重分类表缺少这些类别",
                                path=path, hint="add them to the table (--reclass TABLE.csv) or pick the table of "
                                                "the raster's classification (clcd, worldcover)")
    lut_keys = np.array(sorted(table), dtype=np.int64)
    lut_vals = np.array([table[k] for k in lut_keys])
    out = np.full(values.shape, np.inf)
    pos = np.searchsorted(lut_keys, values[valid].astype(np.int64))
    out[valid] = lut_vals[pos]
    return out
