"""Layer sets: a folder with a manifest, sources, rule tables and a build.

A layer set is a folder (``layers/<name>/``) holding ``manifest.toml``, small
text sources under ``data/``, a rule table and a README. :func:`build_layerset`
assembles it into one GeoPackage (``build/<name>.gpkg``) with the builders of
:mod:`geo.layerset.builders`; :func:`read_layerset` opens that build (building it
first when it is missing or stale); :func:`validate_layerset` checks it and
:mod:`geo.layerset.summary` measures it.

Modules: ``manifest`` (the manifest and the files a build depends on), ``build``
(assembling the GeoPackage), ``read`` (opening it), ``validate``, ``summary``,
``builders/``.
"""
from .manifest import LayerSpec, read_manifest, source_files, source_hash
from .read import LayerSet, build_layerset, read_layerset

__all__ = ["LayerSet", "LayerSpec", "build_layerset", "read_layerset", "read_manifest", "source_files",
           "source_hash"]
