"""docs/legal-basis.md explains what the shipped rule tables cite, and why each judgement row is one."""
from __future__ import annotations

import csv
import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "legal-basis.md").read_text(encoding="utf-8")
TABLES = sorted(ROOT.glob("layers/*/rules.csv"))


def rows():
    for table in TABLES:
        with open(table, encoding="utf-8") as fh:
            yield from csv.DictReader(fh)


def section(number: str) -> str:
    head = re.search(rf"^#+ {re.escape(number)}\.? .*$", DOC, flags=re.M)
    nxt = re.compile(r"^#+ \d", flags=re.M).search(DOC, head.end())
    return DOC[head.start(): nxt.start() if nxt else len(DOC)]


def explained(clause: str) -> bool:
    """A clause is in the doc as written, or as its document and each of its articles (第六十七条、第六十八条)."""
    if clause in DOC:
        return True
    m = re.match(r"(.+?)(第.+)$", clause)
    return bool(m) and m.group(1) in DOC and all(a in DOC for a in m.group(2).split("、"))


def test_every_clause_the_tables_cite_is_explained():
    cited = {c.strip() for r in rows() for c in r["citation"].replace(";", "；").split("；") if c.strip()}
    missing = sorted(c for c in cited if not explained(c))
    assert len(cited) > 20 and not missing, missing


def test_every_judgement_row_says_why():
    listed = section("10.9")
    patterns = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9*]+)+", listed))
    judgement = {(r["rule_id"], r["layer"]) for r in rows() if r["judgement"].strip().lower() in ("true", "1", "yes", "j")}
    # named one by one (or by a pattern such as NR-PARK-*), or their whole layer is ("all rows except …")
    unexplained = sorted(j for j, layer in judgement
                         if not any(fnmatch.fnmatch(j, p) for p in patterns) and not re.search(rf"\b{layer}\b", listed))
    assert judgement and not unexplained, unexplained


def test_every_section_the_repository_cites_exists():
    heads = set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", DOC, flags=re.M))
    cites = set()
    for path in [*ROOT.joinpath("geo").rglob("*.py"), *ROOT.joinpath("layers").rglob("*.md"),
                 *ROOT.joinpath("layers").rglob("*.toml")]:
        for ref in re.findall(r"legal-basis\.md §(\d+(?:\.\d+)*)", path.read_text(encoding="utf-8")):
            cites.add(ref)
    assert cites and cites <= heads, sorted(cites - heads)
