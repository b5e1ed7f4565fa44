"""Hostile DXF drawings for the bad-input corpus: blocks that never end, arrays too big to explode, geometry not read.

``make(bad_dir)`` writes them with ezdxf, with fixed metadata (no write time
or random GUIDs; ezdxf may still order a few table objects differently from
one Python process to the next). Run from the repository root:
``.venv/bin/python tests/data/bad_dxf.py``. Every drawing is in EPSG:4550
metres and its geometry lies in parcel P1, inside the ecological core of the
Jinpu layer set (prohibited for T03), so a reader that dropped it would show.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import ezdxf

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_samples", ROOT / "make_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)

#: P1's shell relative to its centre, so a block can place it anywhere
CX, CY = samples.gk(121.80, 39.10)
SHELL = [(round(x - CX, 3), round(y - CY, 3)) for x, y in samples.P1_SHELL]
CELL = [(-20.0, -15.0), (20.0, -15.0), (20.0, 15.0), (-20.0, 15.0)]  # 40 m x 30 m around the insertion point


def _new():
    doc = ezdxf.new("R2010")
    return doc, doc.modelspace()


def make(bad_dir: Path) -> list[Path]:
    """Write the hostile drawings into ``bad_dir``; returns their paths."""
    bad_dir = Path(bad_dir)
    bad_dir.mkdir(parents=True, exist_ok=True)

    fixed = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        return _make(bad_dir)
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = fixed


def _make(bad_dir: Path) -> list[Path]:
    written = []

    def save(doc, name):
        doc.saveas(bad_dir / name)
        written.append(bad_dir / name)

    # a block that inserts itself (P1 shell, then itself 5 m east, for ever)
    doc, msp = _new()
    loop = doc.blocks.new("LOOP")
    loop.add_lwpolyline(SHELL, close=True)
    loop.add_blockref("LOOP", (5, 0))
    msp.add_blockref("LOOP", (CX, CY))
    save(doc, "dxf_block_loop.dxf")

    # a MINSERT array of 10,000 x 10,000 copies of a 40 m x 30 m cell
    doc, msp = _new()
    doc.blocks.new("CELL").add_lwpolyline(CELL, close=True)
    msp.add_blockref("CELL", (CX, CY), dxfattribs={"row_count": 10_000, "column_count": 10_000,
                                                   "row_spacing": 0.05, "column_spacing": 0.05})
    save(doc, "dxf_minsert_bomb.dxf")

    # nine levels of ten references each: 10^9 cells from a few kilobytes
    doc, msp = _new()
    doc.blocks.new("NEST0").add_lwpolyline(CELL, close=True)
    for level in range(1, 10):
        block = doc.blocks.new(f"NEST{level}")
        for k in range(10):
            block.add_blockref(f"NEST{level - 1}", (0.01 * k, 0))
    msp.add_blockref("NEST9", (CX, CY))
    save(doc, "dxf_nested_bomb.dxf")

    # blocks nested 80 deep (one reference each)
    doc, msp = _new()
    doc.blocks.new("DEEP0").add_lwpolyline(SHELL, close=True)
    for level in range(1, 80):
        doc.blocks.new(f"DEEP{level}").add_blockref(f"DEEP{level - 1}", (0, 0))
    msp.add_blockref("DEEP79", (CX, CY))
    save(doc, "dxf_too_deep.dxf")

    # the parcels are in another drawing, referenced (XREF) and not bound
    doc, msp = _new()
    doc.add_xref_def("parcels.dxf", "PARCELS")
    msp.add_blockref("PARCELS", (0, 0))
    save(doc, "dxf_xref.dxf")

    # a parcel with an arc edge in a block scaled 2 x 1: ezdxf would break it into lines and arcs
    doc, msp = _new()
    doc.blocks.new("ARCPARCEL").add_lwpolyline([(-50, -40, 0.5), (50, -40, 0), (50, 40, 0), (-50, 40, 0)],
                                               format="xyb", close=True)
    msp.add_blockref("ARCPARCEL", (CX, CY), dxfattribs={"xscale": 2, "yscale": 1})
    save(doc, "dxf_uneven_arcs.dxf")

    # P1 as a closed polyline (read) beside two SOLID fills and a 3DFACE (not read: one warning)
    doc, msp = _new()
    msp.add_lwpolyline(samples.P1_SHELL, close=True, dxfattribs={"layer": "红线"})
    for dx in (-60, 40):
        x0, y0 = CX + dx, CY - 40
        msp.add_solid([(x0, y0), (x0 + 20, y0), (x0, y0 + 20), (x0 + 20, y0 + 20)], dxfattribs={"layer": "填充"})
    msp.add_3dface([(CX, CY + 40, 0), (CX + 20, CY + 40, 0), (CX + 20, CY + 60, 0), (CX, CY + 60, 0)])
    save(doc, "dxf_unread_solid.dxf")
    return written


if __name__ == "__main__":
    for p in make(ROOT / "bad"):
        print(p)
