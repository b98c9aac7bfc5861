"""A point-in-time view of the node's operation metrics (served at /metrics)."""

from pydantic import BaseModel, ConfigDict, Field


class ModelMetricsSnapshot(BaseModel):
    """Totals since start-up; latencies are wall time of handle() in milliseconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operations_total: int = Field(ge=0)
    successes_total: int = Field(ge=0)
    failures_total: int = Field(ge=0)
    success_rate: float = Field(ge=0.0, le=1.0, description="1.0 before the first operation")
    latency_avg_ms: float = Field(ge=0.0)
    latency_max_ms: float = Field(ge=0.0)
    per_operation: dict[str, int] = Field(default_factory=dict, description="calls per operation")
    # Circuit breakers of the outbound dependencies (runtime/resilience.py), by dependency.
    breaker_states: dict[str, str] = Field(
        default_factory=dict, description="closed, open, half_open or disabled"
    )
    breaker_rejections: dict[str, int] = Field(
        default_factory=dict, description="calls refused by an open breaker since start-up"
    )
