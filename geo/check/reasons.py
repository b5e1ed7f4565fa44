"""Each site's reasons (Chinese, English) and citations: the texts of its notable findings.

A site's reasons are its findings that are not plainly ``allowed``, most severe
first, each naming its zone (and the zone's official code, when it has one);
its citations name each clause once, in order of first mention. Sites with the
same findings share one text, so each distinct list of findings is written
once, in Arrow, without a Python string per site.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..text import RELATIONS, VERDICTS
from .grouping import row_ids, sequence_ids
from .overlay import Overlay
from .relations import Relation
from .rules import SEVERITY, RuleTable
from .verdicts import VERDICT_OF_SEVERITY, Judged

__all__ = ["Reasons", "site_reasons"]

_SEPARATORS = {"zh": "；", "en": "; "}
_PARTIAL = {"zh": "部分位于覆盖范围之外，结论仅依据覆盖部分；",
            "en": "partly outside the coverage, verdict from the covered part; ", "cite": ""}


class Reasons(NamedTuple):
    """``texts``: ``zh``, ``en`` and ``cite`` Arrow string arrays; ``which``: each site's position in them."""

    texts: dict
    which: np.ndarray


def reason_parts(zh: bool, rel: Relation, name: str, verdict: str, cond: str, cite: str) -> tuple:
    """A finding's reason as (head, tail): the distance (near) or the chainage (lines) goes between."""
    v = VERDICTS[verdict]["zh" if zh else "en"]
    r = RELATIONS[rel.label]["zh" if zh else "en"]
    if rel is Relation.TOUCHES:
        cond = ("边界接触，需核实；" if zh else "boundary contact, verify; ") + cond
    near = rel is Relation.NEAR
    if zh:
        return (f"{v}：距{name}", f"米——{cond}（{cite}）") if near else (f"{v}：{r}{name}", f"——{cond}（{cite}）")
    return (f"{v}: ", f" m from {name} — {cond} [{cite}]") if near else (f"{v}: {r} {name}", f" — {cond} [{cite}]")


def network_text(zh: bool, rel: Relation, length_m: float, width_left_m: float, delta_pc: float) -> str:
    """What a cuts/along finding measures (shown in brackets after the corridor's name, with a line's chainage):
    ΔPC, and for along the length inside and the width left."""
    d = f"{round(float(delta_pc), 4):g}"
    if rel is Relation.ALONG:
        length, width = f"{float(length_m):.0f}", f"{float(width_left_m):.0f}"
        return f"廊道内 {length} 米，剩余宽度 {width} 米，ΔPC {d}%" if zh else \
            f"{length} m inside, {width} m of its width left, ΔPC {d} %"
    return f"ΔPC {d}%" if zh else f"ΔPC {d} %"


def _named(name, code, lang: str) -> str:
    """A zone's name, with its official code after it when it has one."""
    code = "" if code is None or code != code else str(code)
    if not code:
        return name
    return f"{name}（{code}）" if lang == "zh" else f"{name} ({code})"


def citation_parts(citations) -> tuple:
    """The distinct clauses the rules cite, and each rule's clauses as indices into them.

    A rule's citation may name several clauses separated by ``；`` or ``;``;
    each is one entry (``第六十五条、第六十四条`` stays one).
    """
    words: dict = {}
    parts = []
    for text in citations:
        items = [w.strip() for w in str(text or "").replace(";", "；").split("；")]
        parts.append([words.setdefault(w, len(words)) for w in items if w])
    return list(words), parts


def _joined(lists: np.ndarray, offsets: np.ndarray, parts: list, sep: str):
    """Per list, its rows' texts joined by ``sep``: each text is the concatenation of ``parts``.

    ``lists`` are the rows to take, in order; ``parts`` are (words, codes per
    row) pairs or Arrow string arrays per row. All in Arrow, no Python string per row.
    """
    cols = []
    for part in parts:
        if isinstance(part, tuple):
            words, codes = part
            part = pa.DictionaryArray.from_arrays(pa.array(codes[lists].astype(np.int32)),
                                                  pa.array(list(words), type=pa.large_string()))
        cols.append(part.cast(pa.large_string()))
    text = pc.binary_join_element_wise(*cols, pa.scalar("", pa.large_string())) if len(cols) > 1 else cols[0]
    return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), text),
                          pa.scalar(sep, pa.large_string()))


class _Notable(NamedTuple):
    """The notable findings (row positions in the overlay), by site, most severe first, and their texts' parts.

    ``kind``: findings with the same relation, zone, rule and severity share a
    head and tail (``heads``, ``tails`` per language, indexed by kind); ``varying``:
    per language, the part between (a distance, a chainage); ``key``: equal for
    findings whose whole text is equal.
    """

    rows: np.ndarray
    site: np.ndarray
    kind: np.ndarray
    heads: dict
    tails: dict
    varying: dict
    key: np.ndarray


def _notable(ov: Overlay, judged: Judged, zones: pd.DataFrame, rules: RuleTable, notable: np.ndarray) -> _Notable:
    """The findings ``notable`` (not plainly allowed) in reason order, with the parts of their texts."""
    hs, hz, hrel, sev, rule = ov.site, ov.zone, ov.relation, judged.severity, judged.rule
    # by site, most severe first, else in finding order (hs is sorted: timsort on a nearly sorted key)
    order = notable[np.argsort(hs[notable] * 8 + (7 - sev[notable]), kind="stable")]
    kind, first = row_ids(hrel[order], hz[order], rule[order], sev[order])
    names = {"zh": zones["name_zh"].to_numpy(), "en": zones["name_en"].to_numpy()}
    codes = zones["zone_code"].to_numpy() if "zone_code" in zones else np.full(len(zones), "", dtype=object)
    conds = {"zh": rules.column("condition_zh", ""), "en": rules.column("condition_en", "")}
    cites = rules.column("citation", "")
    heads, tails = {"zh": [], "en": []}, {"zh": [], "en": []}
    for row in order[first]:
        z, ri = hz[row], rule[row]
        for lang in ("zh", "en"):
            h, t = reason_parts(lang == "zh", Relation(hrel[row]), _named(names[lang][z], codes[z], lang),
                                VERDICT_OF_SEVERITY[sev[row]], conds[lang][ri], cites[ri])
            heads[lang].append(h)
            tails[lang].append(t)
    # the varying part: a near finding's distance (as the findings show it), a line's chainage
    near = hrel[order] == Relation.NEAR
    varying = {"zh": np.full(len(order), "", dtype=object), "en": np.full(len(order), "", dtype=object)}
    if near.any():
        metres = np.round(np.round(ov.distance[order[near]], 1)).astype(np.int64).astype(str)
        varying["zh"][near] = varying["en"][near] = metres
    own = near.copy()  # findings with a varying part are their own key
    if ov.chain:
        for i in np.flatnonzero(~near):
            ch = ov.chain.get((hs[order[i]], hz[order[i]]))
            if ch:
                own[i] = True
                varying["zh"][i], varying["en"][i] = f"（{ch}）", f" ({ch})"
    for i in np.flatnonzero(hrel[order] >= Relation.CUTS):  # network findings: their measures, each its own text
        own[i] = True
        ch = ov.chain.get((hs[order[i]], hz[order[i]]), "") if ov.chain else ""
        for lang, (sep, fmt) in (("zh", ("；", "（{}）")), ("en", ("; ", " ({})"))):
            text = network_text(lang == "zh", Relation(hrel[order[i]]), ov.overlap[order[i]],
                                ov.width_left[order[i]], ov.delta_pc[order[i]])
            varying[lang][i] = fmt.format(f"{ch}{sep}{text}" if ch else text)
    key = row_ids(np.where(own, -1 - np.arange(len(order)), kind)).ids
    return _Notable(order, hs[order], kind, heads, tails, varying, key)


def _citations(f: _Notable, rows: np.ndarray, cnt: np.ndarray, n_lists: int, rules: RuleTable, rule: np.ndarray):
    """Per list of findings, the clauses its rules cite, each once, in order of first mention ("A；B" is two)."""
    words, rule_parts = citation_parts(rules.column("citation", ""))
    n_parts = np.array([len(p) for p in rule_parts], dtype=np.int64)
    part_start = np.cumsum(n_parts) - n_parts
    part_flat = np.array([w for p in rule_parts for w in p], dtype=np.int64)
    row_rule = rule[f.rows][rows]
    k = n_parts[row_rule]
    cite_id = part_flat[np.repeat(part_start[row_rule], k) + np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)]
    list_of = np.repeat(np.repeat(np.arange(n_lists), cnt), k)
    _, once = np.unique(list_of * (len(words) + 1) + cite_id, return_index=True)
    once = np.sort(once)
    c_off = np.concatenate([[0], np.cumsum(np.bincount(list_of[once], minlength=n_lists))])
    return _joined(once, c_off, [(words, cite_id)], "；")


def site_reasons(ov: Overlay, judged: Judged, *, zones: pd.DataFrame, rules: RuleTable, layerset) -> Reasons:
    """The reasons and citations of every site (see the module text)."""
    n = len(ov.covered)
    fixed = {"zh": ["未涉及限制性管控区域", f"位于图层集“{layerset.info['title_zh']}”覆盖范围之外，无法判定"],
             "en": ["no restrictive zone met", f"outside the coverage of layer set {layerset.name}: cannot be judged"],
             "cite": ["", ""]}
    texts = {k: [pa.array(v, type=pa.large_string())] for k, v in fixed.items()}
    which = np.zeros(n, dtype=np.int64)  # index into the texts
    notable = np.flatnonzero(judged.severity != SEVERITY["allowed"])
    if len(notable):
        f = _notable(ov, judged, zones, rules, notable)
        # distinct lists of findings per site (f.site is sorted)
        first_row = np.ones(len(f.site), dtype=bool)
        first_row[1:] = f.site[1:] != f.site[:-1]
        sites_with = f.site[first_row]
        count = np.bincount(np.cumsum(first_row) - 1, minlength=len(sites_with))
        list_id, rep = sequence_ids(f.key, count)
        start = np.cumsum(count) - count
        cnt = count[rep]
        offsets = np.concatenate([[0], np.cumsum(cnt)])
        rows = np.repeat(start[rep] - offsets[:-1], cnt) + np.arange(offsets[-1])  # the lists' findings, in order
        for lang, sep in _SEPARATORS.items():
            varying = pa.array(f.varying[lang][rows], type=pa.large_string())
            texts[lang].append(_joined(rows, offsets, [(f.heads[lang], f.kind), varying, (f.tails[lang], f.kind)], sep))
        texts["cite"].append(_citations(f, rows, cnt, len(rep), rules, judged.rule))
        which[sites_with] = len(fixed["zh"]) + list_id
    which[~ov.covered] = 1
    texts = {k: pa.concat_arrays(v) for k, v in texts.items()}
    partial = np.flatnonzero(ov.covered & ~ov.full)
    if len(partial):  # partly covered sites are few: their own texts
        was = pa.array(which[partial])
        texts = {k: pa.concat_arrays([v, pa.array([_PARTIAL[k] + t for t in v.take(was).to_pylist()], type=pa.large_string())])
                 for k, v in texts.items()}
        which[partial] = len(texts["zh"]) - len(partial) + np.arange(len(partial))
    return Reasons(texts, which)
