"""The generated compose.yaml: its ports are published on loopback only, its images pinned."""

from __future__ import annotations

import re
from typing import Any

import yaml
from conftest import generate


def test_compose_publishes_on_loopback_only_and_pins_exact_image_versions(copie: Any) -> None:
    project = generate(
        copie,
        service_name="compose_check",
        node_type="effect",
        integrations=["postgres", "kafka", "redis", "http", "consul"],
    )
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]

    assert set(services) == {"kafka", "consul", "postgres", "redis"}
    for name, service in services.items():
        for port in service["ports"]:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        image, _, tag = service["image"].rpartition(":")
        assert image, f"{name}: image {service['image']} has no tag"
        # An exact release: PostgreSQL numbers them major.minor, the others major.minor.patch.
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag), f"{name}: {service['image']} is not exact"
