"""The shape of the code: use cases live in ``flows/`` and call the apps in
plain sight; no app wires a flow through ``AppConfig.ready()`` or a module-level
list of callbacks; imports between apps go only downward (import-linter's
contracts in pyproject.toml, run by ``make lint``)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "oms",
    "inventory",
    "orders",
    "returns",
    "refunds",
    "quality",
    "couriers",
    "sla",
    "intake",
    "portal",
]
APPS += ["console", "demo"]
PACKAGES = [*APPS, "flows"]
REGISTRY_SUFFIXES = ("_REACTIONS", "_EXTENSIONS", "_VALIDATORS", "_CHECKS", "_HOOKS")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _imported_packages(tree: ast.AST, package: str) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return (out & set(PACKAGES)) - {package}


def _registries(tree: ast.Module) -> list[str]:
    """Module-level names bound to a list (or a list-typed empty value) whose
    name says it is a registry of callbacks."""
    found = []
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        for t in targets:
            if (
                isinstance(t, ast.Name)
                and t.id.endswith(REGISTRY_SUFFIXES)
                and isinstance(value, ast.List | ast.Call)
            ):
                found.append(t.id)
    return found


def _ready_mutations(tree: ast.AST) -> list[str]:
    """``x.append(...)``/``x.insert(...)``/``x.extend(...)`` calls inside ready()."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "ready":
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("append", "insert", "extend")
                ):
                    out.append(f"line {call.lineno}: .{call.func.attr}()")
    return out


@pytest.mark.parametrize("app", APPS)
def test_no_app_config_wires_another_app(app):
    # given the app's AppConfig module
    path = ROOT / app / "apps.py"
    tree = ast.parse(path.read_text())
    # then it imports no other app and fills no list in ready()
    assert _imported_packages(tree, app) == set(), f"{path} imports another app"
    assert _ready_mutations(tree) == [], f"{path} ready() registers callbacks"


def test_no_module_level_callback_registries():
    # given every module of the project's packages
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "settings.py":
                continue
            names = _registries(ast.parse(path.read_text()))
            if names:
                found[str(path.relative_to(ROOT))] = names
    # then none keeps a list of callbacks (RETURN_REACTIONS and the like)
    assert found == {}


def test_flows_is_a_plain_package_not_an_app():
    from django.conf import settings

    assert not (ROOT / "flows" / "apps.py").exists()
    assert not (ROOT / "flows" / "models.py").exists()
    assert "flows" not in settings.INSTALLED_APPS


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own console script)
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path):
    """The project's packages and pyproject.toml, copied to a scratch dir."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "migrations", "static", "templates"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold(tree_copy):
    # when lint-imports runs over today's tree
    result = _lint_imports(tree_copy)
    # then every contract is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "edge"),
    [
        # a domain service calling the use-case layer
        ("returns/services/_probe.py", "import flows.reactions\n", "returns.services._probe"),
        # orders reaching up into returns
        ("orders/_probe.py", "from returns import selectors\n", "orders._probe"),
        # refunds importing quality (siblings that must not know each other)
        ("refunds/_probe.py", "import quality.selectors\n", "refunds._probe"),
        # the kernel importing an app
        ("oms/_probe.py", "import orders.models\n", "oms._probe"),
    ],
)
def test_an_upward_import_breaks_the_lint(tree_copy, module, line, edge):
    # given one upward import added to a copy of the tree
    (tree_copy / module).write_text(line)
    # when lint-imports runs
    result = _lint_imports(tree_copy)
    # then it fails and names the new import
    assert result.returncode != 0, result.stdout
    assert edge in result.stdout
