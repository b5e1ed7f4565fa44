"""The siting check: which zones each site meets, which rule applies, the verdict and its reasons.

Modules: ``zones`` (the zone index: subdivided pieces, STRtree and grid), ``rules``
(rule tables), ``engine`` (overlay and verdicts: :func:`check_sites`), ``batches``
(large batches in worker processes).
"""
from .engine import CheckResult, check_sites, overlay
from .rules import RuleTable, layerset_rules, read_rules

__all__ = ["CheckResult", "RuleTable", "check_sites", "layerset_rules", "overlay", "read_rules"]
