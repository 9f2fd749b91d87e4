"""The import contract (pyproject.toml [tool.importlinter], docs/architecture.md#the-layers-and-the-import-contract)
covers the whole service: `lint-imports` checks the imports, this checks that no module of app/ escapes the layers."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def test_every_module_of_app_is_in_exactly_one_layer():
    layers = next(c["layers"] for c in _contracts() if c["type"] == "layers")
    placed = [name.strip() for layer in layers for name in layer.replace("|", ":").split(":")]
    modules = {f"app.{p.stem}" for p in (ROOT / "app").glob("*.py") if p.stem != "__init__"}
    modules |= {f"app.{p.parent.name}" for p in (ROOT / "app").glob("*/__init__.py")}
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert set(placed) == modules, (f"not in a layer: {sorted(modules - set(placed))}; "
                                    f"no such module: {sorted(set(placed) - modules)}")


def test_the_answering_modules_are_those_of_the_answering_layer():
    """The forbidden contract (no storage, HTTP or channels) covers every answering module, and `text` below it."""
    contracts = _contracts()
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    answering = {name.strip() for name in next(layer for layer in layers if "app.engine" in layer).split(":")}
    forbidden = next(c for c in contracts if c["type"] == "forbidden" and "app.engine" in c["source_modules"])
    assert set(forbidden["source_modules"]) == answering | {"app.text"}
