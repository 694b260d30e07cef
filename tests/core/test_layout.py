"""The house rules of docs/design.md ("Folders and what they may import"), read from the imports.

Every import counts: top-level, lazy (inside a function) and ``TYPE_CHECKING`` ones. A new module
belongs to a row of :data:`MAY_IMPORT`; a new dependency between rows is a design change: change
the table here and in docs/design.md together.
"""

from __future__ import annotations

import ast

from helpers import ROOT

BASE = {"errors", "model", "settings", "progress", "peakmem", "startclock", "numerics", "__version__"}
PARAMS = {"twin", "screen", "course", "engine", "evidence"}  # config composes the stages' leaf params
#: what each part of python/p4core may import from the rest of p4core (beyond itself)
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "settings": set(),
    "progress": {"settings"},
    "peakmem": set(),
    "numerics": set(),
    "startclock": set(),
    "model": {"errors"},
    "kernel": {"settings", "_core"},
    "clinical": {"errors", "model"},
    "hooks": {"errors", "model"},
    "io": BASE | {"clinical"},
    "audio": BASE | {"io"},
    "knowledge": BASE | {"io"},
    "datasets": BASE | {"clinical", "io", "kernel", "knowledge"},
    "twin": BASE | {"kernel"},
    "engine": BASE,
    "screen": BASE | {"engine", "io", "kernel", "twin"},
    "evidence": BASE | {"knowledge", "twin"},
    "cohort": BASE | {"clinical"},
    "course": BASE | {"clinical", "kernel", "screen"},
    "testing": BASE | {"kernel"},
    "config": BASE | PARAMS | {"hooks"},
    "sources": BASE | {"config", "hooks"},
    "runstate": BASE | {"io", "__version__"},
    "outputs": BASE | {"config", "hooks", "runstate"},
    "redact": BASE | {"config", "hooks", "io"},
    "pipeline": BASE
    | PARAMS
    | {
        "audio",
        "clinical",
        "cohort",
        "config",
        "hooks",
        "io",
        "knowledge",
        "outputs",
        "redact",
        "runstate",
        "sources",
    },
    "evaluate": BASE | PARAMS | {"io", "knowledge", "pipeline", "config", "datasets"},
    "cli": BASE
    | {"config", "evaluate", "hooks", "io", "outputs", "pipeline", "redact", "runstate", "screen"},
}
#: the package's front door imports anything
FREE = {"__init__", "__main__"}


def imports_of(path) -> set[str]:
    """The p4core parts a module imports (``p4core.X...`` -> X; ``from p4core import X`` -> X)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("p4core.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != "p4core":
                continue
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
    return found


def test_every_part_imports_only_what_the_design_allows():
    package = ROOT / "python" / "p4core"
    problems = []
    for path in sorted(package.rglob("*.py")):
        part = path.relative_to(package).with_suffix("").parts[0]
        if part in FREE:
            continue
        assert part in MAY_IMPORT, (
            f"{path}: a new part of p4core; give it a row in MAY_IMPORT and docs/design.md"
        )
        extra = imports_of(path) - MAY_IMPORT[part] - {part}
        problems += [f"{path.relative_to(ROOT)} imports p4core.{x}" for x in sorted(extra)]
    assert not problems, "\n".join(problems)


def test_the_kernel_knows_arrays_not_biology():
    """The compiled core and its Python face import nothing of the biology above them."""
    assert MAY_IMPORT["kernel"] == {"settings", "_core"}
    assert "plugins" not in {x for row in MAY_IMPORT.values() for x in row}


def test_the_rules_catch_a_forbidden_import(tmp_path):
    """The check itself: a module importing upwards is reported."""
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from p4core.pipeline import run\n")
    assert imports_of(bad) - MAY_IMPORT["twin"] == {"pipeline"}
