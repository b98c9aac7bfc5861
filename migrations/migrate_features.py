"""Drop from a project's answers file the features this template version refuses.

Run by `copier update` on every update as a `before` migration (copier.yml `_migrations`), in
the project, before Copier reads the recorded answers:

    python migrate_features.py ANSWERS_FILE

Versions before the feature catalogue accepted any word as a feature. Copier deletes a
recorded answer that no longer validates and falls back to the default, so without this
step one unknown word would silently drop every feature of the list (custom_mixins among
them, changing the node's base class). The decision of what to keep lives in
extensions/node_spec.py (`migrate_features`), loaded from beside this folder; each dropped
feature is printed on its own line. Nothing to drop: nothing printed, the file untouched.

Standard library and PyYAML only: it runs under Copier's own interpreter.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import yaml

NODE_SPEC = Path(__file__).resolve().parent.parent / "extensions" / "node_spec.py"


def load_node_spec() -> ModuleType:
    spec = importlib.util.spec_from_file_location("onex_migration_node_spec", NODE_SPEC)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


def migrate(answers_file: Path) -> list[str]:
    """Rewrite `answers_file` without the refused features; returns what was dropped."""
    text = answers_file.read_text(encoding="utf-8")
    answers = yaml.safe_load(text)
    if not isinstance(answers, dict) or "features" not in answers:
        return []
    kept, notes = load_node_spec().migrate_features(answers["features"])
    if not notes:
        return []
    answers["features"] = kept
    # Keep Copier's header comment ("Changes here will be overwritten by Copier...").
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    body = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, default_flow_style=False)
    answers_file.write_text(header + body, encoding="utf-8")
    return notes


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for note in migrate(Path(argv[0])):
        print(f"[migrate] {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
