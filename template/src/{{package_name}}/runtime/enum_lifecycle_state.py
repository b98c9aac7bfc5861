"""Where a node instance is in its life; changes are published as state.changed events."""

from enum import StrEnum


class EnumLifecycleState(StrEnum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
