"""Architecture rules: imports run one way (workers → sync → mappings → connectors), public modules
declare ``__all__``, and every public class and function has a docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["connectors", "mappings", "sync", "workers"]  # lowest first


def _modules() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (REPO / layer).rglob("*.py") if "extension" not in p.parts)


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_run_one_way(path: Path) -> None:
    """A module imports only its own layer and the layers below it."""
    layer = path.relative_to(REPO).parts[0]
    above = set(LAYERS[LAYERS.index(layer) + 1:])
    upward = _imported(ast.parse(path.read_text())) & above
    assert not upward, f"{path.relative_to(REPO)} imports upward: {sorted(upward)}"


SIMULATORS = "simulators"


def _simulator_modules() -> list[Path]:
    return sorted((REPO / SIMULATORS).rglob("*.py"))


def _product_imports(source: str) -> set[str]:
    """The product packages (connectors, mappings, sync, workers) a simulator module's source imports."""
    return _imported(ast.parse(source)) & set(LAYERS)


@pytest.mark.parametrize("path", _simulator_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_simulators_share_no_code_with_the_product(path: Path) -> None:
    """A simulator imports none of connectors/mappings/sync/workers: it implements the platform from the
    notes on its own, so a misreading of the platform is not made identically by client and simulator."""
    imported = _product_imports(path.read_text())
    assert not imported, f"{path.relative_to(REPO)} imports product code: {sorted(imported)}"


@pytest.mark.parametrize("path", [p for p in _modules() if p.relative_to(REPO).parts[0] != "workers"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_only_workers_use_the_simulators(path: Path) -> None:
    """connectors, mappings and sync never import the simulators (workers may, for `simulate` and the demo)."""
    assert SIMULATORS not in _imported(ast.parse(path.read_text())), f"{path.relative_to(REPO)} imports simulators"


@pytest.mark.parametrize("line", [
    "from connectors.bigcommerce.webhooks import sign", "import mappings.neutral", "from sync import engine",
    "import workers.cli as cli", "def f():\n    from connectors.parsing import parse_decimal",
])
def test_simulator_import_check_catches_product_imports(line: str) -> None:
    """The check above fails for each kind of import of product code (top level or inside a function)."""
    assert _product_imports(line)


def test_simulator_import_check_allows_own_and_third_party_imports() -> None:
    """The check does not flag the simulators' own package or libraries."""
    assert not _product_imports("import orjson\nfrom simulators.app import read_json\nfrom starlette import routing")


def _public_modules() -> list[Path]:
    return [p for p in [*_modules(), *_simulator_modules()]
            if not p.name.startswith("_") and "migrations" not in p.parts]


@pytest.mark.parametrize("path", _public_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_public_api_is_documented(path: Path) -> None:
    """Each module has a docstring and __all__; each public class and function has a docstring."""
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.relative_to(REPO)} has no module docstring"
    exported = [n for n in tree.body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
    has_defs = any(isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_") for n in tree.body)
    if has_defs:
        assert exported, f"{path.relative_to(REPO)} defines public names but no __all__"
    missing = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)
               and not n.name.startswith("_") and not ast.get_docstring(n)]
    assert not missing, f"{path.relative_to(REPO)}: no docstring on {missing}"
