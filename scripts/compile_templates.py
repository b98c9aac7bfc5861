"""Regenerate compiled/: the template's Jinja, compiled once here so a machine's first copy
does not compile it (see extensions/onex_jinja.py, CompiledTemplates).

Run after changing any template, partial, copier.yml string or extension:
`uv run python scripts/compile_templates.py`. It copies the template (a snapshot of this
working tree without compiled/) with every answer set of answer_sets() into a fresh compile
cache and stores what that cache holds, for the Python running it, in
compiled/templates-<cache tag>.bin. tests/test_compiled_templates.py fails while the archive
lacks anything those copies compile. Nothing is written when the entries are the same.

An archive is only a speed-up: another Python, Jinja or Copier (whose filters and
extensions are part of each entry's key), or a template changed since, compiles as before.
"""

from __future__ import annotations

import argparse
import marshal
import os
import shutil
import sys
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import jinja2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "extensions"))

import node_spec  # noqa: E402  (found through the path set just above)
from onex_jinja import CACHE_ENV, CACHE_PATTERN, shipped_archive  # noqa: E402


def answer_sets() -> Iterator[tuple[str, dict[str, Any]]]:
    """Answers that, between them, render every template file (main() checks it): each node
    type with every integration and every feature, each variant (with its own integrations:
    the variants without postgres and redis render the other stores), and no answers at all
    (the defaults an answer given skips, e.g. node_type's)."""
    yield "default", {}
    for node_type in node_spec.NODE_TYPES:
        # every feature this node type takes (a state machine is for reducers only)
        features = [f for f in node_spec.FEATURES if f != "state_machine" or node_type == "reducer"]
        yield (
            f"{node_type}-all",
            {
                "node_type": node_type,
                "features": features,
                "integrations": list(node_spec.INTEGRATIONS),
            },
        )
    for name, variant in node_spec.variants.VARIANTS.items():
        if variant.node_type:
            yield f"variant-{name}", {"node_type": variant.node_type, "variant": name}


def snapshot_template(into: Path, compiled: bool = True) -> Path:
    """This template as a plain folder: copier.yml, extensions/, partials/, template/ and
    (`compiled`) the compiled archive."""
    target = into / "onex-node-template"
    target.mkdir()
    shutil.copy2(ROOT / "copier.yml", target / "copier.yml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("extensions", "partials", "template", *(["compiled"] if compiled else [])):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    return target


def copy(template: Path, data: dict[str, Any], destination: Path) -> None:
    copier.run_copy(
        str(template),
        str(destination),
        data={**data, "run_checks": False},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
    )


def compile_entries() -> tuple[dict[str, bytes], set[str]]:
    """Every compile-cache entry the answer sets' copies write, by key, and the names of the
    template files they compiled."""
    warnings.simplefilter("ignore")
    names: set[str] = set()
    compile_ = jinja2.Environment.compile

    def compile_named(
        self: jinja2.Environment, source: str, name: str | None = None, *a: Any, **k: Any
    ) -> Any:
        names.add(name or "")
        return compile_(self, source, name, *a, **k)

    jinja2.Environment.compile = compile_named  # type: ignore[method-assign,assignment]
    with tempfile.TemporaryDirectory(prefix="compile-templates-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        cache.mkdir()
        template = snapshot_template(work, compiled=False)
        previous = os.environ.get(CACHE_ENV)
        os.environ[CACHE_ENV] = str(cache)
        try:
            for name, data in answer_sets():
                copy(template, data, work / name)
        finally:
            jinja2.Environment.compile = compile_  # type: ignore[method-assign]
            if previous is None:
                del os.environ[CACHE_ENV]
            else:
                os.environ[CACHE_ENV] = previous
        prefix, suffix = CACHE_PATTERN.split("%s")
        entries = {
            path.name[len(prefix) : len(path.name) - len(suffix)]: path.read_bytes()
            for path in sorted(cache.iterdir())
        }
    return entries, names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    archive = shipped_archive(ROOT)
    entries, compiled = compile_entries()
    templates = {
        path.relative_to(ROOT).as_posix()
        for folder in ("template", "partials")
        for path in (ROOT / folder).rglob("*.jinja")
    }
    if missed := sorted(templates - compiled):
        print(f"no answer set renders {', '.join(missed)}: add one to answer_sets()")
        return 1
    if archive.is_file():
        try:
            if set(marshal.loads(zlib.decompress(archive.read_bytes()))) == set(entries):
                print(f"{archive.relative_to(ROOT)}: current ({len(entries)} entries)")
                return 0
        except (ValueError, EOFError, TypeError, zlib.error):
            pass  # unreadable: written again below
    archive.parent.mkdir(exist_ok=True)
    archive.write_bytes(zlib.compress(marshal.dumps(entries), 9))
    size = archive.stat().st_size // 1024
    print(f"{archive.relative_to(ROOT)}: {len(entries)} entries, {size} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
