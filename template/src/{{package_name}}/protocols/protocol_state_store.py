"""Where the reducer keeps its aggregate state between requests, as JSON text per key."""

from collections.abc import Callable
from typing import Protocol

# Computes the new state from the saved one (None before the first save). It may be called
# more than once for one update (when another writer got there first), so it must be pure.
type StateChange = Callable[[str | None], str]


class ProtocolStateStore(Protocol):
    """Key-value storage of serialised state."""

    async def load(self, key: str) -> str | None:
        """The state saved under `key`, or None before the first save."""
        ...

    async def save(self, key: str, state: str) -> None:
        """Replace the state under `key` (last writer wins: prefer `update` for a fold)."""
        ...

    async def update(
        self, key: str, change: StateChange, *, idempotency_key: str | None = None
    ) -> tuple[str | None, str]:
        """Replace the state under `key` with `change(saved)` atomically; (before, after).

        Concurrent updates of one key, from this process or another instance, are applied one
        after the other: none is lost, which a load-then-save cannot promise.

        With an `idempotency_key` (OperationContext.idempotency_key) the store remembers, in
        the same atomic step as the new state, that this key was applied to `key`: the same
        key again, concurrently or later, changes nothing and returns the first call's
        (before, after). How long a key is remembered depends on the store (see its module).
        """
        ...

    async def applied(self, key: str, idempotency_key: str) -> tuple[str | None, str] | None:
        """The (before, after) of the update of `key` made with `idempotency_key`, while the
        store remembers it (see `update`); None when there was none."""
        ...
