"""Architecture rules, checked on the source text (parsed with `ast`, nothing is imported).

1. The modules of the engine (Algorithm/) import each other without cycles. Imports inside functions count
   (they still tie the modules together); imports under `if TYPE_CHECKING:` do not (they never run).
2. The GUI, the tools and the benchmarks use the engine through its one public module, Algorithm.outer_api.
   The only exceptions are the bench scripts in BENCH_INTERNALS below, which measure internals on purpose.
3. Every package of the engine has an `__init__.py` with a docstring that says what the package is for.

tests/ is exempt from rule 2: tests may import internals to test them directly.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "Algorithm"
PUBLIC = "Algorithm.outer_api"
CLIENT_DIRS = ("GUI", "tools", "bench")

# Bench scripts that time one stage in isolation need that stage's module, not the Engine. Exactly these
# imports are allowed (test_bench_allow_list_is_current fails when one is no longer used, so the list stays exact).
BENCH_INTERNALS: dict[str, set[str]] = {
    # machine description (device_options) and the frames/photos every benchmark feeds in (VideoReader, read_image)
    "bench/_common.py": {"Algorithm.media", "Algorithm.models.runtime"},
    # ultralytics vs direct ONNX Runtime: Detectors built from the registry's specs, on the same photos
    "bench/bench_detectors.py": {"Algorithm.media", "Algorithm.models.registry", "Algorithm.pipeline.detect"},
    # two detector models side by side (the INT8 file and its float copy): Detectors built from the registry's specs,
    # their boxes matched by IoU, recall on MOT17-mini read by the evaluation's own readers
    "bench/bench_detector_models.py": {"Algorithm.evaluation.datasets", "Algorithm.geometry", "Algorithm.media",
                                       "Algorithm.models.registry", "Algorithm.pipeline.detect"},
    # open-set quality: the open-set evaluation itself (the labels of the bench's video); --legacy-tracking patches
    # the session's tracker settings for before/after figures
    "bench/bench_openset.py": {"Algorithm.evaluation.openset_eval", "Algorithm.pipeline.session"},
    # search fps over detection fps: a second frame reader, and timers wrapped around the tracker and the Faiss search
    "bench/bench_pipeline.py": {"Algorithm.media", "Algorithm.pipeline.session", "Algorithm.storage.vector_index"},
    # ReID calls per track: recorded Detections replayed through search_file under different CachePolicy settings
    "bench/bench_reid_calls.py": {"Algorithm.media", "Algorithm.pipeline.runner", "Algorithm.pipeline.session",
                                  "Algorithm.pipeline.track_cache", "Algorithm.types"},
    # the footage index alone: its Faiss index per size (build_vectors) loaded into a FootageIndex, nearest() and adds
    "bench/bench_index.py": {"Algorithm.storage.footage_index"},
    # the vector index alone: exact vs Faiss indexes, search_few vs OpenMP threads
    "bench/bench_search.py": {"Algorithm.storage.vector_index"},
    # ms a crop for each ReID model side by side (the INT8 build and its base): ReIdExtract built from the registry
    "bench/bench_reid_models.py": {"Algorithm.media", "Algorithm.models.registry", "Algorithm.pipeline.embed"},
    # ONNX Runtime thread settings: detector and ReID sessions built directly
    "bench/bench_threads.py": {"Algorithm.models.registry", "Algorithm.models.runtime", "Algorithm.pipeline.detect",
                               "Algorithm.pipeline.embed"},
}


# ---------------------------------------------------------------------------------------------- import graph

def module_name(path: Path, root: Path = ROOT) -> str:
    """Dotted name of a source file: Algorithm/pipeline/runner.py -> Algorithm.pipeline.runner, a package's
    __init__.py -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
           (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under node, at any depth (functions, classes, try blocks), except the body of
    `if TYPE_CHECKING:` (its `else:` still runs, so it counts)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.orelse:
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    yield sub
                else:
                    yield from _import_nodes(sub)
        else:
            yield from _import_nodes(child)


def imported_modules(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules a file imports, as absolute dotted names. Relative imports are resolved against `name`.
    `from P import x` means the module P.x when that is a known module, else (a name defined in P) P itself."""
    out: set[str] = set()
    for node in _import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            if node.level > 1:
                base = base[: -(node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            out.add(sub if sub in known else target)
    return out


def engine_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the engine modules it imports (only edges inside the engine)."""
    files = {module_name(p, root): p for p in source_files(root / ENGINE)}
    known = set(files)
    graph = {}
    for name, path in files.items():
        deps = imported_modules(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)
        graph[name] = {d for d in deps if d in known and d != name}
    return graph


def find_cycles(graph: dict[str, Iterable[str]]) -> list[list[str]]:
    """One cycle for each strongly connected component that has one, as [a, b, ..., a] (Tarjan, iterative).
    A module importing itself is a cycle of one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    nodes = sorted(set(graph) | {d for deps in graph.values() for d in deps})
    succ = {n: sorted(graph.get(n, ())) for n in nodes}

    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(succ[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w])))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in succ[v]:
                    components.append(sorted(comp))

    cycles = []
    for comp in components:
        members = set(comp)
        first = comp[0]
        # shortest path first -> ... -> first inside the component (breadth first)
        prev: dict[str, str] = {}
        frontier = [first]
        while frontier and first not in prev:
            nxt = []
            for v in frontier:
                for w in succ[v]:
                    if w in members and w not in prev:
                        prev[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [first]
        while True:
            path.append(prev[path[-1]])
            if path[-1] == first:
                break
        cycles.append(path[::-1])
    return sorted(cycles)


def format_cycles(cycles: list[list[str]]) -> str:
    return "\n".join("  " + " -> ".join(c) for c in cycles)


def client_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Client file (relative path) -> the engine modules it imports (TYPE_CHECKING imports excluded)."""
    known = {module_name(p, root) for p in source_files(root / ENGINE)}
    out = {}
    for folder in CLIENT_DIRS:
        for path in source_files(root / folder):
            name = module_name(path, root)
            deps = imported_modules(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)
            out[path.relative_to(root).as_posix()] = {d for d in deps if d == ENGINE or d.startswith(ENGINE + ".")}
    return out


# ---------------------------------------------------------------------------------------------- the rules

def test_engine_has_no_import_cycles():
    cycles = find_cycles(engine_graph())
    assert not cycles, "import cycles in Algorithm/:\n" + format_cycles(cycles)


def test_clients_use_only_outer_api():
    bad = []
    for file, deps in sorted(client_imports().items()):
        for dep in sorted(deps - {PUBLIC} - BENCH_INTERNALS.get(file, set())):
            bad.append(f"  {file} imports {dep}")
    assert not bad, f"GUI/, tools/ and bench/ may import only {PUBLIC}:\n" + "\n".join(bad)


def test_bench_allow_list_is_current():
    used = client_imports()
    stale = [f"  {file}: {dep}" for file, deps in sorted(BENCH_INTERNALS.items())
             for dep in sorted(deps - used.get(file, set()))]
    assert not stale, "BENCH_INTERNALS allows imports the bench no longer makes (remove them):\n" + "\n".join(stale)


def test_engine_imports_resolve():
    """Every Algorithm.* module named by the engine or a client exists (catches paths left over after a move)."""
    known = {module_name(p) for p in source_files(ROOT / ENGINE)}
    missing = []
    for folder in (ENGINE, *CLIENT_DIRS):
        for path in source_files(ROOT / folder):
            deps = imported_modules(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py", known)
            missing += [f"  {path.relative_to(ROOT).as_posix()} imports {d}" for d in sorted(deps)
                        if (d == ENGINE or d.startswith(ENGINE + ".")) and d not in known]
    assert not missing, "imports of engine modules that do not exist:\n" + "\n".join(missing)


def test_engine_packages_have_documented_init():
    problems = []
    for folder in sorted({p.parent for p in source_files(ROOT / ENGINE)}):
        init = folder / "__init__.py"
        rel = folder.relative_to(ROOT).as_posix()
        if not init.is_file():
            problems.append(f"  {rel}/ has no __init__.py")
        elif not (ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or "").strip():
            problems.append(f"  {rel}/__init__.py has no docstring")
    assert not problems, "packages of the engine need an __init__.py with a docstring:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------- the checker itself

def test_find_cycles_finds_a_hand_made_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}, "s": {"s"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["s", "s"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []
    assert format_cycles(find_cycles({"a": {"b"}, "b": {"a"}})) == "  a -> b -> a"


def test_imports_are_resolved_like_python(tmp_path):
    pkg = tmp_path / "Algorithm"
    (pkg / "pipeline").mkdir(parents=True)
    for f in ("__init__.py", "media.py", "types.py", "pipeline/__init__.py", "pipeline/runner.py", "pipeline/detect.py"):
        (pkg / f).write_text('"""doc"""\n', encoding="utf-8")
    (pkg / "pipeline" / "runner.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import detect\n"
        "from .. import media\n"
        "from ..types import Something\n"
        "import numpy as np\n"
        "if TYPE_CHECKING:\n"
        "    from Algorithm.outer_api import Engine\n"
        "def later():\n"
        "    from Algorithm.pipeline import runner\n",
        encoding="utf-8")
    (pkg / "media.py").write_text("def f():\n    import Algorithm.pipeline.runner\n", encoding="utf-8")
    graph = engine_graph(tmp_path)
    assert graph["Algorithm.pipeline.runner"] == {"Algorithm.pipeline.detect", "Algorithm.media", "Algorithm.types"}
    assert find_cycles(graph) == [["Algorithm.media", "Algorithm.pipeline.runner", "Algorithm.media"]]
