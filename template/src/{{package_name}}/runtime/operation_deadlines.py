"""The operation timeout: one timer for all of a runner's running operations.

`asyncio.timeout()` does the same job with a timer per operation: it schedules one when the
operation starts and cancels it when it ends, about 6 us of each call (benchmarks/
bench_events.py). Every operation of one runner has the same timeout, so their deadlines come
in the order they started, and the oldest running operation's deadline is always the next
one. One timer at that deadline is enough: when it fires it cancels every operation past its
deadline and sets itself for the next running one. Starting and ending an operation is then a
dict insert and delete.

The cancellation is asyncio.timeout()'s, rule for rule: the deadline cancels the operation's
task; if the operation ends in that CancelledError and nothing else cancelled the task
meanwhile (the task's `cancelling()` count is back to what it was when the operation started),
it is a TimeoutError; a cancellation from outside (a drain past its timeout, a caller giving
up) goes on as CancelledError.
"""

import asyncio
from dataclasses import dataclass


@dataclass(slots=True, eq=False)
class RunningOperation:
    """One operation under a deadline (compared by identity: a key of the running dict)."""

    deadline: float
    task: asyncio.Task[object]
    cancelling: int  # the task's cancelling() count when the operation started
    expired: bool = False


class OperationDeadlines:
    """Cancels an operation that runs past `seconds`; see the module docstring."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        # Running operations, oldest first (dicts keep insertion order), so also by deadline.
        self._running: dict[RunningOperation, None] = {}
        # The event loop the timer is set in, compared by identity only (so typed object:
        # `onex validate --strict` counts each written union, and neither needs one).
        self._loop: object = None
        self._timer_set = False

    def start(self) -> RunningOperation:
        """Put the current task's operation under the deadline; pair with `finish()`."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:  # as asyncio.timeout(): a deadline cancels a task
            raise RuntimeError("an operation's deadline needs an asyncio task")
        if loop is not self._loop:  # a node used from another event loop (a new asyncio.run)
            self._loop, self._timer_set = loop, False
            self._running.clear()  # the old loop's tasks never run again
        operation = RunningOperation(loop.time() + self._seconds, task, task.cancelling())
        self._running[operation] = None
        if not self._timer_set:
            loop.call_at(operation.deadline, self._expire)
            self._timer_set = True
        return operation

    def finish(self, operation: RunningOperation) -> bool:
        """Take the operation from under the deadline. True when the deadline cancelled it
        and nothing else did: then the CancelledError it ended in is its timeout."""
        if not operation.expired:
            self._running.pop(operation, None)
            return False
        return operation.task.uncancel() <= operation.cancelling

    def _expire(self) -> None:
        """The timer: cancel what is past its deadline, then wait for the next deadline."""
        loop = asyncio.get_running_loop()  # a timer callback runs in its loop
        if loop is not self._loop:
            return  # set in a loop the runner has since left: start() set a new one
        self._timer_set = False
        now = loop.time()
        while self._running:
            operation = next(iter(self._running))
            if operation.deadline > now:
                loop.call_at(operation.deadline, self._expire)
                self._timer_set = True
                return
            del self._running[operation]
            operation.expired = True
            operation.task.cancel()
