"""The package's layout follows the flow of a run: imports only go down it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "allocator"

#: Rank of each part in the flow of a run; a module may import only from parts of equal or lower rank.
RANKS = {
    "errors": 0, "apportion": 0,
    "io": 1,
    "core": 2,
    "solvers": 3,
    "results": 4,
    "reports": 5,
    "writers": 6,
    "batch": 7, "generate": 7, "app": 7, "sweep": 7, "cli": 8, "__main__": 9, "__init__": 9,
}


def _part(module: str) -> str:
    """The part of ``allocator.x.y`` that ranks it: ``x``."""
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``allocator.*`` module imported anywhere in the file (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("allocator"):
            if node.module == "allocator":
                found += [(node.lineno, f"allocator.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("allocator.")]
    return found


def test_every_part_has_a_rank() -> None:
    parts = {path.stem if path.parent == PACKAGE else path.parent.name for path in PACKAGE.rglob("*.py")}
    assert parts <= RANKS.keys(), f"give {sorted(parts - RANKS.keys())} a place in the flow (RANKS)"


def test_imports_only_go_down_the_flow() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = path.stem if path.parent == PACKAGE else path.parent.name
        for line, module in _imports(path):
            if module == "allocator.__version__" or _part(module) == "__init__":
                continue
            if RANKS[_part(module)] > RANKS[own]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not upward, "imports against the flow:\n" + "\n".join(upward)


def test_the_formulation_knows_nothing_of_files_or_the_terminal() -> None:
    for path in sorted((PACKAGE / "core").glob("*.py")) + sorted((PACKAGE / "solvers").glob("*.py")):
        for line, module in _imports(path):
            assert _part(module) not in {"io", "writers", "cli"} or module == "allocator.io.schemas", \
                f"{path.name}:{line} imports {module}"
        text = path.read_text(encoding="utf-8")
        assert "click" not in text and "print(" not in text, f"{path.name} talks to the terminal"
