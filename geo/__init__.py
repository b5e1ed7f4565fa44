"""ecozone: ecological zoning and spatial control (生态空间分区管控).

Assemble zoning layers from their sources, check project sites against them
with the clause each verdict rests on, draw web maps and export the layers.

The names below are imported when first used, so that ``import geo`` (and the
command line's start) stays light.
"""
import importlib
import logging

__version__ = "0.1.0"

_WHERE = {
    "build_layerset": "layerset", "read_layerset": "layerset", "LayerSet": "layerset",
    "validate_layerset": "layerset.validate", "check_sites": "check", "CheckResult": "check",
    "layerset_rules": "check", "read_rules": "check", "build_map": "maps", "write_map": "maps",
    "write_results": "results", "read_sites": "sites", "sites_from_inline": "sites",
    **dict.fromkeys(["CRSError", "EcozoneError", "ExportError", "GeometryRepairedWarning", "LayerSetError",
                     "RuleError", "SiteInputError"], "errors"),
}

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__", "read_layerset", "build_layerset", "validate_layerset", "LayerSet",
    "read_sites", "sites_from_inline", "check_sites", "CheckResult", "write_results",
    "read_rules", "layerset_rules", "build_map", "write_map",
    "EcozoneError", "LayerSetError", "RuleError", "SiteInputError", "CRSError", "ExportError",
    "GeometryRepairedWarning",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
