"""The shape of the package: no import cycle, every error and warning class in geo/errors.py, nothing cited from outside."""
from __future__ import annotations

import ast
import re
from pathlib import Path

GEO = Path(__file__).resolve().parents[1] / "geo"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(GEO.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    return {module_name(p): p for p in GEO.rglob("*.py")}


def imports_of(path: Path, known: dict) -> set:
    """The geo modules a module imports, at the top or inside functions (either closes a cycle when run)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import x` may import a module
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in known and m != name}


def test_the_import_graph_of_geo_has_no_cycle():
    known = modules()
    graph = {m: imports_of(p, known) for m, p in known.items()}
    # a package's __init__ re-exports its modules: importing the package imports them
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_error_and_warning_class_is_in_errors_py():
    bases = {"Exception", "BaseException", "Warning", "UserWarning", "ValueError", "OSError", "RuntimeError",
             "EcozoneError", "LayerSetError", "RuleError", "SiteInputError", "CRSError", "ExportError"}
    stray = []
    for name, path in modules().items():
        if name == "geo.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if names & bases or node.name.endswith(("Error", "Warning")):
                    stray.append(f"{name}.{node.name}")
    assert not stray, f"error or warning classes outside geo/errors.py: {stray}"


def test_no_docstring_or_comment_points_outside_the_repository():
    outside = re.compile(r"regulations\.md|performance\.md|field-notes\.md|\.\./shared|shared/reference")
    hits = [f"{p.relative_to(GEO.parent)}:{i}" for p in [*GEO.rglob("*.py"), *GEO.parent.joinpath("layers").rglob("*.md"),
                                                          *GEO.parent.joinpath("layers").rglob("*.toml")]
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if outside.search(line)]
    assert not hits, f"citations of files outside the repository: {hits}"
