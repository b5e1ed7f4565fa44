"""The siting check: which zones each site meets, which rule applies, the verdict and its reasons.

Modules: ``zones`` (the zone index: subdivided pieces, STRtree and grid),
``footprints`` and ``reproject`` (the sites in the measurement CRS),
``overlay`` (the zones each site meets or is near), ``relations``, ``chainage``,
``rules`` (rule tables), ``verdicts`` (the rule of each finding, the verdict of
each site), ``reasons`` and ``frames`` (the tables), ``grouping`` (numbering
equal lists), ``engine`` (:func:`check_sites`), ``batches`` (large batches in
worker processes), ``pipeline`` (the check as ``ecozone check`` runs it).
"""
from .engine import CheckResult, check_sites
from .overlay import overlay
from .rules import RuleTable, layerset_rules, read_rules

__all__ = ["CheckResult", "RuleTable", "check_sites", "layerset_rules", "overlay", "read_rules"]
