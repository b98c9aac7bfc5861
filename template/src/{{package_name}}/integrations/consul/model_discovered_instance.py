"""One healthy instance of another service, as Consul's health endpoint reports it."""

from pydantic import BaseModel, ConfigDict, Field


class ModelDiscoveredInstance(BaseModel):
    """Where to reach one passing instance of a service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: int = Field(ge=0, le=65535)
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = Field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """`http://address:port`, bracketing IPv6 addresses."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}"
