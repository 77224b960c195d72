"""The package layering of ``encephagen/`` (issue 14, item 2): walked with ``ast``, module-level AND
function-local imports, so that a dependency hidden inside a function counts like any other.

Fails on
- an import that the allowed-imports table below does not permit (engines importing data, nulls,
  analysis, figures or the file layer ``io``; a library importing the study layer; ...);
- any import of ``snakemake`` anywhere in ``encephagen/`` (only ``workflow/`` may);
- any circle between packages (the package-level graph, the circle named);
- a package or top-level module that the table does not place (a new package must be given its layer).

The same table, with the picture of the layers, is in docs/architecture.md.
"""
from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "encephagen"

# ------------------------------------------------------------------ the allowed-imports table
# A node is a package (``encephagen/<name>/``) or top-level module (``encephagen/<name>.py``) of
# encephagen, with these module overrides (NODE_OF_MODULE):
# - ``hopf.linear`` is an engine (the linear Hopf model), the rest of ``hopf/`` is study level;
# - every ``encephagen.<pkg>.cli`` module and ``encephagen/cli.py``, ``workflow_cli.py``, ``__main__.py``
#   are the command line (the top).
# The study layer's engine adapters (the Engine implementations and their file layouts) live in
# ``encephagen/study/engines/``, so every module of ``sim/`` and ``spiking/`` is an engine.
# The steps (paths in, read, call, write) are the package ``encephagen/steps/``.
# Every node may also import ``root`` (``encephagen/__init__.py``: the version) and itself.
ENGINES = frozenset({"sim", "spiking.core", "spiking", "plasticity", "bodies", "hopf.linear"})
FOUNDATION = frozenset({"seeds", "io", "connectome"})
LIBRARIES = frozenset({"nulls", "analysis", "data", "figures"})
STUDY = frozenset({"study", "hopf", "fit", "learn"})

ALLOWED: dict[str, frozenset[str]] = {
    "root": frozenset(),
    # foundation: seeds (pure), the file contract (io), the Connectome type and its file
    "seeds": frozenset(),
    "io": frozenset(),
    "connectome": frozenset({"io", "seeds"}),
    # engines: arrays in, arrays out; never files, datasets, nulls, statistics, figures, snakemake
    "hopf.linear": frozenset({"seeds", "sim"}),   # one Hopf parameter set: sim.models.HopfParams
    "sim": frozenset({"seeds"}),
    # spiking.core: the one LIF update, its random numbers and parameter base (spiking/update.py,
    # rng.py, params.py), shared by the LIF engine, the plasticity rules and the CPG
    "spiking.core": frozenset({"seeds", "sim"}),
    "plasticity": frozenset({"seeds", "sim", "spiking.core"}),
    "spiking": frozenset({"seeds", "sim", "spiking.core", "plasticity"}),   # plastic synapses in LIFBatch
    "bodies": frozenset({"seeds", "sim", "spiking.core", "spiking", "plasticity"}),
    # libraries beside the engines (arrays and tables; their files through io), lowest first
    "nulls": frozenset({"io", "seeds", "connectome"}),
    "analysis": frozenset({"io", "seeds", "connectome", "nulls"}),
    "data": frozenset({"io", "seeds", "connectome", "analysis"}),
    "figures": frozenset({"io", "seeds", "connectome", "nulls", "analysis", "data"}),
    # configuration: the schemas (package data) and the dataset registry
    "schemas": frozenset(),
    # (config -> study: study.config's torch-free checks of the simulate/spiking/hopf sections)
    "config": frozenset({"schemas", "data", "io", "seeds", "connectome", "nulls", "analysis", "study"}),
    # study: the engines behind one protocol (networks x seeds x parameters, chunks, one run kind)
    "study": ENGINES | {"io", "seeds", "connectome", "analysis", "schemas"},
    "hopf": ENGINES | {"study", "io", "seeds", "connectome", "analysis", "config", "schemas"},
    "fit": ENGINES | {"study", "hopf", "io", "seeds", "connectome", "analysis", "config", "schemas"},
    # learn: the plastic engine and the learning protocols (study level)
    "learn": ENGINES | {"study", "io", "seeds", "connectome", "analysis", "config", "schemas"},
    # steps: one per workflow stage: paths in, read, call the layers below, write
    "steps": ENGINES | STUDY | FOUNDATION | LIBRARIES | {"config", "schemas"},
    # the interactive demo (encephagen.demo): engines, data and figures-level libraries, no study, no steps
    "demo": ENGINES | FOUNDATION | LIBRARIES,
    # command line: anything
    "cli": ENGINES | STUDY | FOUNDATION | LIBRARIES | {"config", "schemas", "steps", "demo"},
}

NODE_OF_MODULE = {
    "encephagen": "root",
    "encephagen.hopf.linear": "hopf.linear",
    "encephagen.spiking.update": "spiking.core",
    "encephagen.spiking.rng": "spiking.core",
    "encephagen.spiking.params": "spiking.core",
    "encephagen.cli": "cli",
    "encephagen.workflow_cli": "cli",
    "encephagen.__main__": "cli",
    "encephagen.learn.run": "steps",   # the learn stage's step: reads null batches, writes tables/figures
}

# Known debt: edges the table forbids that are still in the code, as (importing module, imported
# node). Empty: every file read sits in a step (encephagen/steps/), every file write of the engines'
# results in the study layer. A listed edge that no longer exists fails
# test_pending_list_is_current, so the list can only shrink.
PENDING_OTHER_HELPERS: set[tuple[str, str]] = set()


def node_of(module: str) -> str:
    if module in NODE_OF_MODULE:
        return NODE_OF_MODULE[module]
    parts = module.split(".")
    if len(parts) >= 3 and parts[-1] == "cli":
        return "cli"
    return parts[1]


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PKG.parent / rel).with_suffix(".py").exists() or (PKG.parent / rel / "__init__.py").exists()


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import statement in ``path``.
    ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module."""
    module, is_pkg = _module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    local = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in local) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub if _is_module(sub) else target, node.lineno, id(node) in local))
    return out


@functools.lru_cache(maxsize=1)
def _all_imports() -> tuple:
    return tuple(_walk())


def _walk():
    for path in sorted(PKG.rglob("*.py")):
        module, _ = _module_name(path)
        for target, line, local in imports_of(path):
            yield path, module, target, line, local


@functools.lru_cache(maxsize=1)
def internal_edges() -> dict[tuple[str, str], list[str]]:
    """{(from node, to node): ["module:line (local)", ...]} between different nodes."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, module, target, line, local in _all_imports():
        if target != "encephagen" and not target.startswith("encephagen."):
            continue
        a, b = node_of(module), node_of(target)
        if a != b:
            edges[(a, b)].append(f"{module}:{line}{' (in a function)' if local else ''} -> {target}")
    return {k: sorted(set(v)) for k, v in edges.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component with more than one node, as one circle through it."""
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    circles = []
    for comp in sccs:  # a concrete circle inside the component, by breadth-first search back to its start
        start, members = comp[0], set(comp)
        prev, frontier, found = {start: None}, [start], None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, ())):
                    if w == start:
                        found = v
                        break
                    if w in members and w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path, v = [], found
        while v is not None:
            path.append(v)
            v = prev[v]
        circles.append(path[::-1] + [start])
    return circles


# ------------------------------------------------------------------------------------ tests

def test_table_is_a_layering():
    """The table itself has no circle, names only known nodes, and keeps the engines off the file
    layer, the libraries and snakemake."""
    graph = {a: set(bs) for a, bs in ALLOWED.items()}
    assert not find_cycles(graph), find_cycles(graph)
    unknown = {b for bs in ALLOWED.values() for b in bs} - set(ALLOWED)
    assert not unknown
    for e in ENGINES:
        assert not ALLOWED[e] & (LIBRARIES | {"io", "connectome", "study", "steps"}), e


def test_every_node_is_placed():
    nodes = {node_of(_module_name(p)[0]) for p in PKG.rglob("*.py")}
    assert not nodes - set(ALLOWED), (f"packages/modules of encephagen/ with no layer in the table of "
                                      f"tests/test_layering.py (and docs/architecture.md): {sorted(nodes - set(ALLOWED))}")


def test_no_snakemake_import():
    bad = [f"{m}:{line} imports {t}" for _, m, t, line, _ in _all_imports()
           if t == "snakemake" or t.startswith("snakemake.")]
    assert not bad, "encephagen/ must never import snakemake (only workflow/ may):\n  " + "\n  ".join(bad)


def test_imports_follow_the_table():
    bad = []
    for (a, b), where in sorted(internal_edges().items()):
        if b == "root" or b in ALLOWED.get(a, ()):
            continue
        left = [w for w in where if (w.split(":")[0], b) not in PENDING_OTHER_HELPERS]
        if left:
            bad.append(f"{a} -> {b} (not allowed; {a} may import {sorted(ALLOWED.get(a, ()))}):\n      "
                       + "\n      ".join(left))
    assert not bad, "forbidden imports (table in tests/test_layering.py, docs/architecture.md):\n  " + \
        "\n  ".join(bad)


def test_no_circle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for (a, b), where in internal_edges().items():
        if any((w.split(":")[0], b) not in PENDING_OTHER_HELPERS for w in where):
            graph[a].add(b)
    circles = find_cycles(graph)
    assert not circles, "import circles between packages:\n  " + "\n  ".join(" -> ".join(c) for c in circles)


def test_pending_list_is_current():
    """Every PENDING_OTHER_HELPERS edge still exists (remove the ones that are gone)."""
    seen = {(w.split(":")[0], b) for (a, b), where in internal_edges().items() for w in where}
    stale = sorted(PENDING_OTHER_HELPERS - seen)
    assert not stale, f"PENDING_OTHER_HELPERS lists edges that no longer exist, remove them: {stale}"


# the checker itself: each rule fires on the defect it names

def _edges_of(src: str, name: str) -> list[str]:
    """Imports of a synthetic module placed at ``encephagen/<name>`` (parsed, never imported)."""
    module = "encephagen." + name.removesuffix(".py").replace("/", ".")
    tree_imports = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and node.module:
            tree_imports.append(node.module)
        elif isinstance(node, ast.Import):
            tree_imports += [a.name for a in node.names]
    return [f"{node_of(module)} -> {node_of(t)}" for t in tree_imports if t.startswith("encephagen.")
            and node_of(t) != node_of(module) and node_of(t) not in ALLOWED[node_of(module)]]


def test_checker_catches_a_hidden_engine_import():
    src = "def f():\n    from encephagen.data.empirical import read_fc\n    return read_fc\n"
    assert _edges_of(src, "sim/runner.py") == ["sim -> data"]
    assert _edges_of("import encephagen.io\n", "spiking/engine.py") == ["spiking -> io"]
    assert _edges_of("from encephagen.seeds import derive_seed\n", "sim/runner.py") == []


def test_checker_finds_a_circle():
    assert find_cycles({"nulls": {"data"}, "data": {"analysis"}, "analysis": {"nulls"}}) == \
        [["analysis", "nulls", "data", "analysis"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_function_local_imports_are_seen(tmp_path):
    p = PKG / "analysis" / "fc.py"
    found = imports_of(p)
    assert found and all(len(t) == 3 for t in found)
    src = tmp_path / "x.py"
    src.write_text("import numpy\n\ndef f():\n    import snakemake\n")
    tree = ast.parse(src.read_text())
    locals_ = [n for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) for n in ast.walk(fn)
               if isinstance(n, ast.Import)]
    assert [a.name for n in locals_ for a in n.names] == ["snakemake"]


LIBRARY_FILES = ("encephagen/io/", "encephagen/data/", "encephagen/nulls/", "encephagen/analysis/",
                 "encephagen/figures/", "encephagen/connectome.py", "encephagen/seeds.py")
# The function-local imports of encephagen modules that the library files keep, each for its cost:
KEPT_LOCAL = {
    # `import encephagen.data` (the config's dataset registry, every Snakefile parse) stays light:
    # the parcellation and empirical-FC builders (scipy, nulls, analysis) load on first use
    ("encephagen/data/__init__.py", "encephagen.data.parcellate"),
    ("encephagen/data/__init__.py", "encephagen.data.empirical"),
}


def test_library_imports_at_top():
    """In the library packages every import of encephagen itself is at the top of its file (a
    function-local one hid the folder circle nulls -> data -> analysis -> nulls), except the
    KEPT_LOCAL ones and the command-line modules (``<pkg>/cli.py``: imports per sub-command keep
    ``encephagen --help`` fast); only heavy optional third-party packages (torch, matplotlib, nilearn, mujoco,
    ...) are imported inside functions."""
    bad = []
    for p, m, t, line, local in _all_imports():
        rel = p.relative_to(PKG.parent).as_posix()
        if (local and rel.startswith(LIBRARY_FILES) and not rel.endswith("/cli.py")
                and (t == "encephagen" or t.startswith("encephagen.")) and (rel, t) not in KEPT_LOCAL):
            bad.append(f"{rel}:{line} imports {t} inside a function")
    assert not bad, "\n  ".join(sorted(set(bad)))


# The libraries that read but never write: their files are written by the steps
# (encephagen/steps/data.py, encephagen/steps/nulls.py), so they import none of io's writers.
READ_ONLY_LIBRARIES = ("encephagen/data/", "encephagen/nulls/")
IO_WRITERS = frozenset({"atomic_h5", "write_array", "label_dimensions", "atomic_path", "tmp_path", "write_bytes",
                        "write_text", "write_table", "write_with", "clean_stale_temporaries"})


def io_writer_imports(path: Path) -> list[str]:
    """``line: name`` of every io writer that ``path`` imports (``from encephagen.io[.x] import w``),
    or of a whole writer module it imports (``encephagen.io.tables``, ``encephagen.io.h5``)."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module == "encephagen.io"
                                                               or node.module.startswith("encephagen.io.")):
            bad += [f"{node.lineno}: {a.name}" for a in node.names if a.name in IO_WRITERS | {"tables", "h5"}]
        elif isinstance(node, ast.Import):
            bad += [f"{node.lineno}: {a.name}" for a in node.names if a.name in ("encephagen.io.tables",
                                                                                  "encephagen.io.h5")]
    return bad


def test_data_and_nulls_write_no_files():
    """``data/`` (the dataset readers and builders) and ``nulls/`` (the generators, the property
    panel, the batch reader) are array-level libraries: the data and nulls stages' files are
    written by their steps, so neither package imports a writer of :mod:`encephagen.io`
    (command-line modules excepted: they call the steps)."""
    bad = []
    for prefix in READ_ONLY_LIBRARIES:
        for p in sorted((PKG.parent / prefix).rglob("*.py")):
            if p.name != "cli.py":
                bad += [f"{p.relative_to(PKG.parent)}:{w}" for w in io_writer_imports(p)]
    assert not bad, "io writers imported by a read-only library (move the writing into its step):\n  " + \
        "\n  ".join(bad)


def test_checker_catches_an_io_writer(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("from encephagen.io import open_validated, atomic_h5\nimport encephagen.io.tables\n"
                 "def f():\n    from encephagen.io.tables import write_text\n")
    assert io_writer_imports(p) == ["1: atomic_h5", "2: encephagen.io.tables", "4: write_text"]
    p.write_text("from encephagen.io import kinds, open_validated, read_strings\n")
    assert io_writer_imports(p) == []


def test_engine_registry_names_study_level_adapters():
    """Every entry of the engine registry (``"module:Class"``, loaded on first use) names a class
    that exists (read with ast: nothing is imported) in a study-level module, so that a moved
    adapter cannot leave a registry string behind, and no adapter sits in an engine package."""
    import re

    src = (PKG / "study" / "engine.py").read_text()
    block = src[src.index("ENGINES: dict[str, str] = {"):]
    targets = re.findall(r'"(\w+)": "([\w.]+):(\w+)"', block[: block.index("}")])
    assert {t[0] for t in targets} >= {"neural_mass", "lif", "hopf_linear"}, targets
    for name, module, cls in targets:
        rel = Path(*module.split("."))
        path = (PKG.parent / rel).with_suffix(".py")
        assert path.exists(), f"engine {name!r}: no module {module}"
        classes = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)}
        assert cls in classes, f"engine {name!r}: {module} defines no class {cls}"
        assert node_of(module) in STUDY, f"engine {name!r}: adapter {module} is not study level ({node_of(module)})"


def test_docs_table_is_the_same_table():
    """docs/architecture.md states the same allowed-imports table."""
    import re

    doc = (PKG.parent / "docs" / "architecture.md").read_text()
    rows = {}
    for line in doc.splitlines():
        m = re.match(r"\|\s*`([\w.]+)`[^|]*\|\s*([^|]+?)\s*\|$", line)
        if not m:
            continue
        node, cell = m.group(1), m.group(2)
        if cell == "nothing":
            rows[node] = frozenset()
            continue
        if cell == "everything above":
            rows[node] = frozenset(set(ALLOWED) - {node, "root"})
            continue
        got: set[str] = set()
        for part in (p.strip() for p in cell.split(",")):
            got |= {"the engines": ENGINES, "the libraries": LIBRARIES}.get(part, {part})
        rows[node] = frozenset(got)
    assert set(rows) == set(ALLOWED) - {"root"}, sorted(set(rows) ^ (set(ALLOWED) - {"root"}))
    for node, allowed in rows.items():
        assert allowed == ALLOWED[node], (node, sorted(allowed ^ ALLOWED[node]))
