"""The package's module graph: no import circles, and function-local imports only with a reason."""

from __future__ import annotations

import ast
from pathlib import Path

import footgrid

ROOT = Path(footgrid.__file__).parent


def _modules() -> dict[str, Path]:
    import footgrid.kernels

    out = {}
    for base, name in (
        (ROOT, "footgrid"),
        (Path(footgrid.kernels.__file__).parent, "footgrid.kernels"),
    ):
        for f in base.rglob("*.py"):
            parts = [name, *f.relative_to(base).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.Module, modules: dict[str, Path], local: bool) -> list[tuple[str, int]]:
    """footgrid modules imported at module level (``local=False``) or inside functions."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function == local:
                names = []
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                elif child.module:
                    subs = [f"{child.module}.{a.name}" for a in child.names]
                    # ``from package import module`` imports the module; other names come
                    # from the package (or module) itself.
                    names = [n for n in subs if n in modules]
                    if len(names) < len(subs):
                        names.append(child.module)
                for n in names:
                    if n in modules and n != "footgrid":
                        found.append((n, child.lineno))
                    elif local and n.split(".")[0] not in ("footgrid",):
                        found.append((n, child.lineno))
            visit(child, inner)

    visit(tree, False)
    return found


def test_no_import_circles() -> None:
    modules = _modules()
    graph = {
        m: {n for n, _ in _imports(ast.parse(f.read_text()), modules, local=False) if n != m}
        for m, f in modules.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                circles.append([*stack[stack.index(n) :], n])
            elif n not in state:
                walk(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m)
    assert len(graph) > 40
    assert any(graph.values())  # the graph was really built
    assert circles == []


def test_function_local_imports_say_why() -> None:
    """A function-local import is for an optional or heavy dependency, with a comment saying so."""
    modules = _modules()
    unexplained = []
    for f in modules.values():
        lines = f.read_text().splitlines()
        for name, line in _imports(ast.parse(f.read_text()), modules, local=True):
            here = lines[line - 1]
            above = lines[line - 2] if line >= 2 else ""
            if "#" not in here and not above.strip().startswith("#"):
                unexplained.append(f"{f.name}:{line} {name}")
    assert unexplained == []


def test_the_install_puts_only_footgrid_on_the_path(tmp_path: Path) -> None:
    """Nothing generic (``engine``, ``kernels``) is importable from the installed package."""
    import subprocess
    import sys

    code = "import importlib.util as u; print([u.find_spec(n) is None for n in ARGS])"
    names = ["engine", "kernels", "footgrid", "footgrid.kernels"]
    out = subprocess.run(
        [sys.executable, "-I", "-c", code.replace("ARGS", repr(names))],
        cwd=tmp_path,  # -I: neither the working folder nor PYTHONPATH is on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[True, True, False, False]"


def test_the_console_script_is_the_cli() -> None:
    """The installed script and ``python -m footgrid`` both enter through footgrid.entry.main,
    which runs footgrid.cli.console (``--version`` through the script prints the version)."""
    import subprocess
    import sys
    from importlib.metadata import entry_points

    import footgrid
    from footgrid.entry import main

    (script,) = entry_points(group="console_scripts", name="footgrid")
    assert script.load() is main
    for cmd in (
        [str(Path(sys.executable).with_name("footgrid"))],
        [sys.executable, "-m", "footgrid"],
    ):
        out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, check=True)
        assert footgrid.__version__ in out.stdout + out.stderr


def test_a_run_does_not_import_what_it_does_not_use(tmp_path: Path) -> None:
    """``footgrid.run`` and ``footgrid run`` start without the optional heavy libraries.

    Polygons (geopandas, shapely), the terminal display (rich), larger-than-memory points
    (dask.dataframe), maps (matplotlib) and the exports load on first use; a plain run pays
    none of their import time (B3 measures that time as part of every run).
    """
    import subprocess
    import sys

    heavy = ["geopandas", "shapely", "rich", "dask.dataframe", "matplotlib", "footgrid.store.cog"]
    code = (
        "import sys; import footgrid.execution.pipeline, footgrid.cli; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    # and the probe can fail: the same check sees a module that is imported
    probe = code.replace("footgrid.cli;", "footgrid.cli, shapely;")
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['shapely']"
