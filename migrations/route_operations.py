"""Give a project generated before 0.2.0 one handler module per operation, its code intact.

Run by `copier update` as a `before` migration (copier.yml `_migrations`), in the project, on
every update: it acts only on a node still on the layout before 0.2.0, the release that
routes each operation to its own module in the node's handlers/ folder (so a project
generated from an untagged commit, whose version Copier reads as 0.0.0.postN, is moved too):

    python route_operations.py

Before 0.2.0 a node kept every operation in one user-owned operations.py, with an
`OPERATIONS` mapping the node dispatched through. The code there is the user's, and can be
arranged any way (helpers, renamed functions, a computed mapping), so it is not split: it
stays where it is, still importable as before (the user's tests import it), and for each
member of the node's operation enum this writes `handlers/handler_<operation>.py`, whose
`handle_<operation>` is exactly the function `OPERATIONS` maps that operation to. Reducers,
computes and orchestrators also get a `handlers/shared.py` saying where their helpers are.
Copier then finds these user-owned files present and leaves them alone, and the new
contract's routes resolve to the user's functions. Moving code out of operations.py later is
the user's call (each written module says how).

Everything is checked before anything is written: a node that already has handler modules
is left as it is (so running this twice changes nothing), and a node whose operation enum
cannot be read stops the update with a message and writes nothing. Written files are
`git add`-ed, as Copier only updates a committed project.

Standard library only: it runs under Copier's own interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

OPERATIONS_MODULE = "operations.py"
RELEASE = "0.2.0"


@dataclass(frozen=True)
class LegacyNode:
    """A node folder with an operations.py and no handlers/ modules yet."""

    folder: Path  # relative to the project root: src/<package>/nodes/<node>
    enum_module: str  # dotted, e.g. ledger.nodes.node_ledger_effect.enums.enum_ledger_operation
    enum_class: str
    members: tuple[tuple[str, str], ...]  # (member name, operation value), in enum order

    @property
    def module(self) -> str:
        return ".".join(self.folder.parts[1:])

    @property
    def node_type(self) -> str:
        return self.folder.name.rsplit("_", 1)[-1]


class MigrationError(Exception):
    """The project cannot be migrated safely; nothing was written."""


def read_enum(root: Path, folder: Path) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(dotted module, class name, members) of the node's `Enum<Stem>Operation`."""
    found = sorted((root / folder / "enums").glob("enum_*_operation.py"))
    if len(found) != 1:
        raise MigrationError(
            f"{folder}/enums: expected one enum_*_operation.py, found {len(found)}"
        )
    path = found[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Operation"):
            members = tuple(
                (statement.targets[0].id, statement.value.value)
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            )
            if members:
                module = ".".join((folder / "enums" / path.stem).parts[1:])
                return module, node.name, members
    raise MigrationError(f"{path.relative_to(root)}: no operation enum with members found")


def legacy_nodes(root: Path, files: list[str]) -> list[LegacyNode]:
    """Every node of `files` (project-relative paths) still on the operations.py layout."""
    nodes = []
    for name in files:
        parts = Path(name).parts
        if len(parts) != 5 or parts[0] != "src" or parts[2] != "nodes":
            continue
        if parts[4] != OPERATIONS_MODULE:
            continue
        folder = Path(*parts[:4])
        if list((root / folder / "handlers").glob("handler_*.py")):
            print(f"[migrate] {folder}/handlers already has handler modules: left as it is")
            continue
        nodes.append(LegacyNode(folder, *read_enum(root, folder)))
    return nodes


def handler_module(node: LegacyNode, member: str, operation: str) -> str:
    return f'''"""Handler of the `{operation}` operation.

Written by the {RELEASE} migration of onex-node-template (migrations/route_operations.py):
your code for this operation is still in ../{OPERATIONS_MODULE}, kept as it was, and
`handle_{operation}` below is the function its OPERATIONS mapping names. To move the code
here, define `async def handle_{operation}(request, context)` in this module instead and
delete the function from {OPERATIONS_MODULE}.
"""

from {node.enum_module} import (
    {node.enum_class},
)
from {node.module}.operations import (
    OPERATIONS,
)

handle_{operation} = OPERATIONS[{node.enum_class}.{member}]
'''


SHARED_MODULE = f'''"""Business logic shared by this node's operation handlers.

Written by the {RELEASE} migration of onex-node-template: this node's helpers are still in
../{OPERATIONS_MODULE}. Move them here when you move operations into their handler modules;
a handler added by a later `copier update -d operations=[...]` imports the example helpers
from here, so add the ones it names.
"""
'''


def planned_files(node: LegacyNode) -> dict[Path, str]:
    files = {
        node.folder / "handlers" / f"handler_{operation}.py": handler_module(
            node, member, operation
        )
        for member, operation in node.members
    }
    if node.node_type != "effect":
        files[node.folder / "handlers" / "shared.py"] = SHARED_MODULE
    return files


def tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    )
    return sorted(name for name in listed.stdout.split("\0") if name)


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path.cwd()
    try:
        nodes = legacy_nodes(root, tracked_files(root))
    except MigrationError as exc:
        print(f"[migrate] cannot route operations to handlers/: {exc}", file=sys.stderr)
        return 1
    # Everything is planned before the first write: nothing is left half-done.
    plans = [(node, planned_files(node)) for node in nodes]
    for node, files in plans:
        existing = [str(path) for path in files if (root / path).exists()]
        if existing:
            print(f"[migrate] {', '.join(existing)} already exist(s): left as they are")
        for path, text in files.items():
            if (root / path).exists():
                continue
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
            subprocess.run(["git", "add", "--", str(path)], cwd=root, check=True)
        print(
            f"[migrate] {node.folder}: {len(node.members)} operation(s) routed to handlers/, "
            f"each handing over to {OPERATIONS_MODULE} (kept as it was)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
