"""Where outputs may go (geo/paths.py): never over an input, each other, or into a layer set."""
from __future__ import annotations

import pytest

from conftest import make_tiny_layerset
from geo.errors import ExportError
from geo.paths import refuse_clobber


def test_distinct_outputs_beside_their_input_are_fine(tmp_path):
    (tmp_path / "sites.csv").write_text("x", encoding="utf-8")
    refuse_clobber({"-o": tmp_path / "r.csv", "--detail": tmp_path / "d.csv", "--report": None},
                   inputs=[tmp_path / "sites.csv"])


@pytest.mark.parametrize("out, fragment", [
    ("sites.shp", "-o would overwrite the input sites.shp"),
    ("sites.dbf", "-o would overwrite the input sites.shp"),    # a part of the input shapefile
    ("link.shp", "-o would overwrite the input sites.shp"),      # a link to it
    ("./sub/../sites.shp", "-o would overwrite the input sites.shp"),
])
def test_an_output_over_an_input_or_its_parts_is_refused(tmp_path, out, fragment):
    (tmp_path / "sites.shp").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.shp").symlink_to(tmp_path / "sites.shp")
    with pytest.raises(ExportError, match=fragment):
        refuse_clobber({"-o": tmp_path / out}, inputs=[tmp_path / "sites.shp"])


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    with pytest.raises(ExportError, match="-o and --detail name the same file"):
        refuse_clobber({"-o": tmp_path / "r.csv", "--detail": tmp_path / "." / "r.csv"})


def test_nothing_is_written_inside_a_layer_set(tmp_path):
    root = make_tiny_layerset(tmp_path / "ls")
    for target in (root / "build" / "tiny.gpkg", root / "data" / "new.geojson", root / "x.html"):
        with pytest.raises(ExportError, match="lies inside the layer set ls"):
            refuse_clobber({"-o": target})
    refuse_clobber({"-o": tmp_path / "elsewhere.gpkg"}, inputs=[root])
