"""ecozone: ecological zoning and spatial control (生态空间分区管控).

Assemble zoning layers from their sources, check project sites against them
with the clause each verdict rests on, draw web maps and export the layers.
"""
import logging

__version__ = "0.1.0"

from .build import build_layerset  # noqa: E402
from .check import CheckResult, check_sites  # noqa: E402
from .errors import (  # noqa: E402
    CRSError, EcozoneError, ExportError, GeometryRepairedWarning, LayerSetError, RuleError, SiteInputError,
)
from .layerset import LayerSet, read_layerset  # noqa: E402
from .maps import build_map, write_map  # noqa: E402
from .results import write_results  # noqa: E402
from .rules import layerset_rules, read_rules  # noqa: E402
from .sites import read_sites, sites_from_inline  # noqa: E402
from .validate import validate_layerset  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__", "read_layerset", "build_layerset", "validate_layerset", "LayerSet",
    "read_sites", "sites_from_inline", "check_sites", "CheckResult", "write_results",
    "read_rules", "layerset_rules", "build_map", "write_map",
    "EcozoneError", "LayerSetError", "RuleError", "SiteInputError", "CRSError", "ExportError",
    "GeometryRepairedWarning",
]
