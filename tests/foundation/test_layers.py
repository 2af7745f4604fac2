"""Layers that read top-down, checked on the import statements (parsed with ast, never run):
the CLI is the top of the host package, board/ sits below sim/, the firmware HAL below the app;
no import circles; no library module writes into the package by default. docs/ARCHITECTURE.md
states the same rules."""
from __future__ import annotations

import ast
from pathlib import Path

from eyeauth import FIRMWARE_DIR, REPO_ROOT

HOST = REPO_ROOT / "host"

#: Circles still open, each a set of modules; the test fails if one closes (remove it here) or
#: a new one appears.
KNOWN_CIRCLES: list = []

#: The host's layers below the CLI, bottom up. A module may import its own layer and those
#: below it, never one above (function-level imports count).
#: - build: training, preprocessing, TFLM, the zoo and its build (nothing here imports evaluation;
#:   the build takes its card figures through a callback);
#: - evaluation: scoring, cross-dataset tables, folders, thresholds, identification, fusion,
#:   liveness, routers' evaluation, card figures;
#: - clients and tools above it: the board client (auth/), benchmarks, the explorer, the demo.
BUILD = ("eyeauth.training", "eyeauth.models")
EVALUATION = ("eyeauth.evaluation",)
ABOVE_EVALUATION = ("eyeauth.auth", "eyeauth.benchmarks", "eyeauth.explore", "eyeauth.demo",
                    "eyeauth.cli", "eyeauth.release_build")


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out[".".join(parts)] = p
    return out


def imports(path: Path, name: str, known) -> dict[str, int]:
    """{imported module: first line} for every import in the file, at any depth (a function-level
    import is a dependency too). ``from pkg import sub`` counts as pkg.sub only."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: dict[str, int] = {}

    def add(mod, line):
        out.setdefault(mod, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            for s in subs:
                add(s, node.lineno)
            if len(subs) < len(node.names):
                add(mod, node.lineno)
    return out


def graph(root: Path):
    mods = modules(root)
    return mods, {m: {i: ln for i, ln in imports(p, m, mods).items() if i != m}
                  for m, p in mods.items()}


def circles(g) -> list[set]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]  # recursion depth <= the longest import chain (a few dozen modules)

    def visit(n):
        index[n] = low[n] = counter[0]
        counter[0] += 1
        stack.append(n)
        on.add(n)
        for w in g.get(n, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[n] = min(low[n], low[w])
            elif w in on:
                low[n] = min(low[n], index[w])
        if low[n] == index[n]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == n:
                    break
            if len(comp) > 1:
                out.append(comp)

    for n in g:
        if n not in index:
            visit(n)
    return out


def _violations(mods, g, where, forbidden):
    bad = []
    for m, deps in g.items():
        if not where(m):
            continue
        for dep, line in deps.items():
            if forbidden(dep):
                bad.append(f"{mods[m].relative_to(REPO_ROOT)}:{line} imports {dep}")
    return bad


def test_only_the_cli_imports_the_cli():
    mods, g = graph(HOST)
    bad = _violations(mods, g, lambda m: not (m.startswith("eyeauth.cli") or m == "eyeauth.__main__"),
                      lambda d: d == "eyeauth.cli" or d.startswith("eyeauth.cli."))
    assert not bad, "library modules must not depend on the CLI:\n" + "\n".join(bad)


def test_board_does_not_import_the_simulator():
    mods, g = graph(HOST)
    bad = _violations(mods, g, lambda m: m.startswith("eyeauth.board"),
                      lambda d: d == "eyeauth.sim" or d.startswith("eyeauth.sim."))
    assert not bad, "board/ (real boards) must not depend on sim/:\n" + "\n".join(bad)


def _under(m, prefixes):
    return any(m == p or m.startswith(p + ".") for p in prefixes)


def test_nothing_in_the_build_imports_the_evaluation_layer():
    mods, g = graph(HOST)
    bad = _violations(mods, g, lambda m: _under(m, BUILD), lambda d: _under(d, EVALUATION))
    assert not bad, "the build sits below the evaluation layer:\n" + "\n".join(bad)


def test_the_evaluation_layer_sits_below_the_board_client_tools_and_cli():
    mods, g = graph(HOST)
    assert any(_under(m, EVALUATION) for m in mods)
    bad = _violations(mods, g, lambda m: _under(m, EVALUATION) or _under(m, BUILD),
                      lambda d: _under(d, ABOVE_EVALUATION))
    assert not bad, "evaluation and build must not import what sits above them:\n" + "\n".join(bad)


def test_auth_is_the_board_client_only():
    """auth/ speaks the protocol (and pairs, and loads the inputs it sends): no evaluation, no
    models, no training, no benchmarks."""
    mods, g = graph(HOST)
    bad = _violations(mods, g, lambda m: _under(m, ("eyeauth.auth",)),
                      lambda d: _under(d, BUILD + EVALUATION + ("eyeauth.benchmarks",)))
    assert not bad, "auth/ is the board client:\n" + "\n".join(bad)


def private_uses(root: Path) -> list[str]:
    """``module._name`` and ``from module import _name`` across modules of the package (names
    with one leading underscore are their module's own)."""
    out = []
    for p in sorted(root.rglob("*.py")):
        tree = ast.parse(p.read_text(), str(p))
        where = p.relative_to(root)
        mods = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("eyeauth.")):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        out.append(f"{where}:{node.lineno} imports {a.name}")
                    mods.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                mods |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("eyeauth")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id in mods and node.attr.startswith("_") and not node.attr.startswith("__"):
                out.append(f"{where}:{node.lineno} uses {node.value.id}.{node.attr}")
    return out


def test_no_private_names_across_host_modules():
    bad = private_uses(HOST / "eyeauth")
    assert not bad, "a name another module needs is public (no leading underscore):\n" + "\n".join(bad)


def test_the_private_name_finder_finds_them(tmp_path):
    (tmp_path / "a.py").write_text("from eyeauth.models import embed\nembed._infer(1)\n"
                                   "from eyeauth.models.build import _save_card\n")
    assert len(private_uses(tmp_path)) == 2


def test_firmware_hal_does_not_import_the_app():
    mods, g = graph(FIRMWARE_DIR)
    bad = _violations(mods, g, lambda m: m == "hal" or m.startswith("hal."),
                      lambda d: d.startswith("eyeauth_fw"))
    assert not bad, "the HAL sits below the app:\n" + "\n".join(bad)


def test_no_import_circles():
    found = []
    for root in (HOST, FIRMWARE_DIR):
        _, g = graph(root)
        found += circles(g)
    new = [sorted(c) for c in found if c not in KNOWN_CIRCLES]
    assert not new, f"import circles: {new}"
    closed = [sorted(c) for c in KNOWN_CIRCLES if c not in found]
    assert not closed, f"these circles are gone: remove them from KNOWN_CIRCLES: {closed}"


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [{"a", "b", "c"}]
    assert circles({"p": {"p.x": 1}, "p.x": {"p": 1}}) == [{"p", "p.x"}]
    assert circles({"a": {"b": 1}, "b": {}}) == []


def test_no_library_default_writes_into_the_package(tmp_path, monkeypatch):
    """Generated files go where the user says or to the cache folder; the committed copies in
    the package are read-only fallbacks."""
    from eyeauth.explore import scores
    from eyeauth.sim import flashimg

    monkeypatch.setenv("EYEAUTH_CACHE", str(tmp_path))
    assert scores.cache_path().parent == tmp_path
    src = (HOST / "eyeauth" / "sim" / "flashimg.py").read_text() + \
        (HOST / "eyeauth" / "explore" / "scores.py").read_text()
    assert "REPO_ROOT" not in src
    img = flashimg.build_app_image()
    assert img.parent == tmp_path and img.stat().st_size > 0
