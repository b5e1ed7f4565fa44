"""The check pipeline as ``ecozone check`` runs it: sites in; results, detail and report out.

:class:`CheckParams` holds what a check takes and refuses what the command line
refuses. :func:`run_check` reads the sites, checks them in batches (in worker
processes when there are many), hands each batch to a writer thread while the
next is checked, gathers what the report needs as it goes, and commits every
output atomically at the end. It knows nothing of click: progress and stopping
are callbacks. The command line and the check service both call it.
"""
from __future__ import annotations

import os
import stat
import typing
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache, partial
from pathlib import Path

from ..compliance import (COMPLIANCE_FORMATS, UNIT_COLUMNS, compliance_rows, compliance_table, met_units,
                          no_requirements, site_notes, write_compliance, zone_codes)
from ..errors import ExportError
from ..layerset.manifest import requirements_config
from ..layerset.requirements import read_requirements
from ..paths import refuse_clobber
from ..report import DETAIL_MODES, LANGS, ReportDigest, open_template, render_report
from ..report import REPORT_FORMATS as _REPORT_FORMATS
from ..results import ResultWriter
from ..sites.coords import COORD_SYSTEMS
from ..sites.read import is_dataset, read_sites, sites_from_inline
from ..text import VERDICT_ORDER, summary_line
from .batches import checked_batches

__all__ = ["CheckParams", "CheckOutcome", "run_check", "read_check_sites", "fits", "CHUNK", "PARALLEL_FROM", "FAIL_ON",
           "MIN_JOBS", "REPORT_FORMATS", "NO_SITES"]

CHUNK = 100_000  # sites per batch
PARALLEL_FROM = 20_000  # fewer sites are checked in one process
MIN_JOBS = 1
FAIL_ON = ("prohibited", "restricted")  # verdicts a check may fail on (exit code 3)
REPORT_FORMATS = tuple(_REPORT_FORMATS)  # .html .htm .docx .pdf
NO_SITES = "give a SITES file, --point or --wkt"


def _param(hint: str, **kw):
    """A field of :class:`CheckParams`; ``hint`` is how the command line names it in its messages."""
    return field(metadata={"hint": hint}, **kw)


@dataclass(frozen=True, kw_only=True)
class CheckParams:
    """The parameters of one check, as ``ecozone check`` takes them (fields in the order of its options).

    Made from a command line or a service request, they are checked as the
    command line checks its options: the type of each field, ``jobs`` ≥ 1, ``cluster`` (local, local:N,
    tcp://HOST:PORT; not with ``jobs`` > 1),
    ``fail_on``, ``lang``, ``report_detail`` and ``coord_sys`` among their choices (``coord_sys`` in any
    case, kept in lower case), and no folder where a file is read or written (but the sites may be a
    GeoParquet dataset, and so may a ``.parquet`` output).
    A wrong type raises TypeError; a value the command line refuses raises
    ValueError with the message it gives (naming the option), :data:`NO_SITES`
    when no site is named. :meth:`refuse_bad_outputs` checks the outputs
    against the inputs once the layer set is known.
    """

    sites: str | None = _param("'[SITES]'", default=None)
    layers_dir: str = _param("'--layers'")
    project_type: str | None = _param("'--type'", default=None)
    out: str = _param("'-o' / '--out'")
    detail: str | None = _param("'--detail'", default=None)
    report: str | None = _param("'--report'", default=None)
    lang: str = _param("'--lang'", default="both")
    report_detail: str = _param("'--report-detail'", default="auto")
    template: str | None = _param("'--template'", default=None)
    compliance: str | None = _param("'--compliance'", default=None)
    points: tuple[str, ...] = _param("'--point'", default=())
    wkts: tuple[str, ...] = _param("'--wkt'", default=())
    crs: str | None = _param("'--crs'", default=None)
    encoding: str | None = _param("'--encoding'", default=None)
    coord_sys: str | None = _param("'--coord-sys'", default=None)
    ddd_mmss: bool = _param("'--ddd-mmss'", default=False)
    layer: str | None = _param("'--layer'", default=None)
    fail_on: str | None = _param("'--fail-on'", default=None)
    overwrite: bool = _param("'--overwrite'", default=False)
    jobs: int = _param("'--jobs' / '-j'", default=1)
    cluster: str | None = _param("'--cluster'", default=None)

    def __post_init__(self):
        for name, hint in self.types().items():
            value = getattr(self, name)
            if not fits(value, hint):
                raise TypeError(f"the check parameter {name} is {value!r}, not {getattr(hint, '__name__', hint)}")
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("out", "detail", "report", "compliance", "template"):
            _refuse_unusable_file(self, name)
        _choice(self, "lang", LANGS)
        _choice(self, "report_detail", DETAIL_MODES)
        if self.coord_sys is not None:
            object.__setattr__(self, "coord_sys", _choice(self, "coord_sys", COORD_SYSTEMS, any_case=True))
        if self.fail_on is not None:
            _choice(self, "fail_on", FAIL_ON)
        if self.jobs < MIN_JOBS:
            raise ValueError(f"Invalid value for {self.hint('jobs')}: {self.jobs} is not in the range x>={MIN_JOBS}.")
        if self.cluster is not None:
            _cluster_spec(self)
        _refuse_unusable_file(self, "sites")  # (the command line reads its argument after its options)
        if not (self.sites or self.points or self.wkts):
            raise ValueError(NO_SITES)

    @classmethod
    def types(cls) -> dict:
        """Each field's type, by name, in the order of the command's options."""
        return _types(cls)

    @classmethod
    def hint(cls, name: str) -> str:
        """How the command line names a field in its messages (``'--jobs' / '-j'``)."""
        return next(f.metadata["hint"] for f in fields(cls) if f.name == name)

    def refuse_bad_outputs(self, layerset_root) -> None:
        """Raise ExportError when an output would replace an input or another output, the report is not
        .html/.htm/.docx/.pdf, ``--template`` is not a Word file or goes with another format, or the compliance
        table is not .csv or .xlsx."""
        refuse_clobber({"-o": self.out, "--detail": self.detail, "--report": self.report,
                        "--compliance": self.compliance},
                       inputs=[x for x in (self.sites, layerset_root, self.template) if x])
        report = self.report and Path(self.report)
        if report and report.suffix.lower() not in REPORT_FORMATS:
            raise ExportError(f"报告格式 {report.suffix!r} 不支持 / unknown report format {report.suffix!r}", path=report,
                              hint=f"name it {report.stem}.docx, {report.stem}.pdf or {report.stem}.html")
        if self.template:
            if not report or report.suffix.lower() != ".docx":
                raise ExportError("--template 只用于 Word 报告 / --template is for a Word report",
                                  path=Path(self.template), hint="give --report NAME.docx, or leave out --template")
            open_template(self.template)
        table = self.compliance and Path(self.compliance)
        if table and table.suffix.lower() not in COMPLIANCE_FORMATS:
            raise ExportError(f"unknown compliance table format {table.suffix!r}", path=table,
                              hint=f"name it {table.stem}.csv or {table.stem}.xlsx")


@cache
def _types(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def fits(value, hint) -> bool:
    """Whether ``value`` is of type ``hint`` (a type of :meth:`CheckParams.types`; a list may stand for a tuple)."""
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)
    if typing.get_args(hint):  # X | None
        return any(fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    return isinstance(value, hint) and (hint is bool or not isinstance(value, bool))


def _refuse_unusable_file(params: CheckParams, name: str) -> None:
    """A file the check reads or writes may not be a folder or an unreadable file (as click's Path type says)."""
    path = getattr(params, name)
    if path is None:
        return
    try:
        st = os.stat(path)
    except OSError:  # does not exist (yet)
        return
    if stat.S_ISDIR(st.st_mode) and not folder_ok(name, path):
        raise ValueError(f"Invalid value for {params.hint(name)}: File {path!r} is a directory.")
    if not os.access(path, os.R_OK):
        raise ValueError(f"Invalid value for {params.hint(name)}: File {path!r} is not readable.")


def folder_ok(name: str, path) -> bool:
    """Whether the folder ``path`` may stand for the field ``name``: the sites as a GeoParquet dataset (a folder
    holding ``.parquet`` parts), ``out`` as one (named ``*.parquet``)."""
    if name == "out":
        return Path(path).suffix.lower() == ".parquet"
    return name == "sites" and any(not part.startswith((".", "_")) for f in Path(path).rglob("*.parquet")
                                   for part in f.relative_to(path).parts)


def _cluster_spec(params: CheckParams) -> None:
    """``--cluster`` is local, local:N or tcp://HOST:PORT, and not given with ``--jobs`` N > 1."""
    from .distributed import parse_cluster

    parse_cluster(params.cluster)
    if params.jobs > 1:
        raise ValueError(f"Invalid value for {params.hint('jobs')}: give --jobs or --cluster, not both.")


def _choice(params: CheckParams, name: str, choices, *, any_case: bool = False) -> str:
    """The choice a field names (in lower case when ``any_case``), or ValueError as click's Choice type words it."""
    value = getattr(params, name)
    key = value.casefold() if any_case else value
    if key not in choices:
        raise ValueError(f"Invalid value for {params.hint(name)}: {value!r} is not one of "
                         f"{', '.join(map(repr, choices))}.")
    return key


@dataclass(frozen=True)
class CheckOutcome:
    """What a check did: the number of sites, the sites per verdict, the summary line and the exit code."""

    n_sites: int
    counts: dict
    summary: str  # the line the command prints (in Chinese and English)
    exit_code: int  # 0, or 3 when a site reached ``fail_on``


def run_check(ls, params: CheckParams, *, progress=None, stop=None) -> CheckOutcome:
    """Check the sites ``params`` name against the layer set ``ls`` and write the outputs.

    ``progress(n_done, n_total)`` is called once the sites are read (with 0)
    and after each batch is handed to the writer. ``stop()``, asked between
    batches and before the outputs are committed, abandons the check when
    true (InterruptedError): nothing is written.
    """
    params.refuse_bad_outputs(ls.root)
    reqs = read_requirements(ls) if (params.report or params.compliance) else None
    if params.compliance and reqs is None:
        raise no_requirements(ls)
    plan = _on_workers(params)  # a dataset's parts read by the cluster's workers: the sites never come here
    gdf = read_check_sites(ls, params) if plan is None else None
    for out in (params.report, params.compliance):
        if out and Path(out).exists() and not params.overwrite:
            raise ExportError("output exists", path=out, hint="give --overwrite to replace it")
    # batches of CHUNK sites are checked (by several processes when there are several batches) and written one
    # after another; what the report needs is gathered batch by batch too, and for the compliance table only the
    # units each site meets: memory stays bounded
    digest = ReportDigest(ls, detail=params.report_detail, source=_source(params, gdf)) if params.report else None
    units = None
    if params.compliance:
        layer = requirements_config(ls.manifest)["layer"]
        units = (layer, zone_codes(ls, layer))
    n, jobs = len(gdf) if plan is None else sum(plan[1]), params.jobs
    with ResultWriter(params.out, detail=params.detail, overwrite=params.overwrite) as writer, \
            _client(params.cluster) as client:
        size = CHUNK if jobs == 1 or n < PARALLEL_FROM else min(CHUNK, -(-n // (2 * jobs)))
        report = params.report_detail if digest is not None else None
        if client is None:  # several processes: each writes its batches' CSV rows or dataset parts (remote)
            many = jobs > 1 and n > size
            prepare = partial(_prepared, writer.remote() if many else writer.prepare, report=report, units=units)
            batches = checked_batches(gdf, ls, size=size, prepare=prepare, jobs=jobs, numbered=many)
        else:  # the same batches, checked on a Dask cluster (prepared there; a dataset's parts written there)
            from .distributed import checked_on_cluster

            remote = writer.remote()
            prepare = partial(_prepared, remote, report=report, units=units)
            where = {"writes_to": remote.folder, "may_write_to": remote.scratch}
            if plan is None:
                batches = checked_on_cluster(gdf, ls, client, size=CHUNK, prepare=prepare, **where)
            else:
                from .dataset_parts import checked_dataset_on_cluster

                batches = checked_dataset_on_cluster(params.sites, _read_options(params), ls, client, size=CHUNK,
                                                     prepare=prepare, plan=plan, **where)
        done, met = 0, []
        if progress:
            progress(done, n)
        for batch, part, hits in batches:
            _unless(stop)
            kept = getattr(batch, "result", None)
            if kept is not None and kept.layerset is None:  # checked in a worker: the layer set stayed here
                kept.layerset = ls
            if digest is not None:
                digest.add(part)
            if hits is not None and len(hits):
                met.append(hits)
            writer.add(batch)
            done += batch.n
            if progress:
                progress(done, n)
        notes = site_notes(gdf) if reqs is not None else None
        section = None
        if digest is not None and reqs is not None:
            section = compliance_table(digest.kept.detail, digest.kept.sites, ls, notes=notes)
        table = None
        if params.compliance:
            import pandas as pd

            table = compliance_rows(pd.concat(met, ignore_index=True) if met else pd.DataFrame(columns=UNIT_COLUMNS),
                                    reqs, ls, notes=notes)
        _unless(stop)  # the last moment nothing is in place yet
        if digest is not None:  # a failure here still leaves the results unwritten
            render_report(digest, params.report, lang=params.lang, template=params.template, compliance=section,
                          batch=Path(params.sites).stem if params.sites else "", overwrite=params.overwrite)
        if table is not None:
            write_compliance(table, params.compliance, overwrite=params.overwrite)
    counts = writer.counts
    failed = params.fail_on and any(counts.get(v, 0) for v in VERDICT_ORDER[: VERDICT_ORDER.index(params.fail_on) + 1])
    return CheckOutcome(writer.n, counts, summary_line(writer.n, ls.name, counts), 3 if failed else 0)


def _read_options(p: CheckParams) -> dict:
    """The options the sites file is read with."""
    options = {k: v for k, v in {"encoding": p.encoding, "coord_sys": p.coord_sys, "ddd_mmss": p.ddd_mmss,
                                 "layer": p.layer}.items() if v}
    return {"crs": p.crs, "project_type": p.project_type, **options}


def _on_workers(p: CheckParams):
    """(parts, rows) of a GeoParquet dataset the cluster's workers read themselves, or None (the sites are read
    here): with ``--cluster``, sites only from the dataset, and no report or compliance table (they need all)."""
    if p.cluster is None or not p.sites or p.points or p.wkts or p.report or p.compliance or not is_dataset(p.sites):
        return None
    from .dataset_parts import dataset_plan

    return dataset_plan(p.sites)


def read_check_sites(ls, p: CheckParams):
    """The sites of the file and of ``--point``/``--wkt``, in one frame (the inline ones numbered after the file's)."""
    options = _read_options(p)
    frames = []
    if p.sites:
        frames.append(read_sites(p.sites, **options))
    if p.points or p.wkts:
        frames.append(sites_from_inline(list(p.points), list(p.wkts), project_type=p.project_type,
                                        coord_sys=options.get("coord_sys")))
    if len(frames) == 1:
        return frames[0]
    import geopandas as gpd
    import pandas as pd

    frames = [f.to_crs(ls.storage_crs) for f in frames]
    frames[1]["site_id"] = [f"inline-{i + 1}" for i in range(len(frames[1]))]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ls.storage_crs)


@contextmanager
def _client(cluster: str | None):
    """A Dask client for ``--cluster`` (None without it)."""
    if cluster is None:
        yield None
        return
    from .distributed import cluster_client

    with cluster_client(cluster) as client:
        yield client


def _unless(stop) -> None:
    if stop is not None and stop():
        raise InterruptedError("the command that asked for this check stopped; nothing written")


def _source(p: CheckParams, gdf) -> dict:
    """What the report says of the input: the file, the CRS of its coordinates as read, the lon/lat system."""
    crs = gdf.crs
    label = f"{crs.name} (EPSG:{crs.to_epsg()})" if crs is not None and crs.to_epsg() else str(crs)
    inline = " + ".join(x for x, v in (("--point", p.points), ("--wkt", p.wkts)) if v)
    return {"file": " + ".join(x for x in (Path(p.sites).name if p.sites else "", inline) if x), "crs": label,
            "coord_sys": p.coord_sys, "detail": Path(p.detail).name if p.detail else None}


def _prepared(prepare, result, *, report: str | None, units, **number):
    """A batch for the writer, its share of the report and the control units its sites meet (may run in a worker).

    ``report`` is the report's detail mode (None: no report); ``units`` is (layer, zone id → code) of the
    requirement list, or None; ``number`` (the batch's number, on a cluster) goes to ``prepare``.
    """
    batch = prepare(result, **number)
    part = ReportDigest.part(result, detail=report) if report else None
    hits = met_units(result.detail, result.sites, layer=units[0], codes=units[1]) if units else None
    return batch, part, hits
