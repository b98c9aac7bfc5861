"""The generated compose.yaml: its ports are published on loopback only, its images pinned,
and the node itself beside its dependencies, reaching them by their compose names."""

from __future__ import annotations

import re
from typing import Any

import yaml
from conftest import generate, project_spec


def test_compose_publishes_on_loopback_only_and_pins_exact_image_versions(copie: Any) -> None:
    project = generate(
        copie,
        service_name="compose_check",
        node_type="effect",
        integrations=["postgres", "kafka", "redis", "http", "consul"],
    )
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]

    assert set(services) == {"compose-check", "kafka", "consul", "postgres", "redis"}
    for name, service in services.items():
        for port in service["ports"]:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        if name == "compose-check":
            continue  # the node: built from the Dockerfile (tests/test_ship.py checks it)
        image, _, tag = service["image"].rpartition(":")
        assert image, f"{name}: image {service['image']} has no tag"
        # An exact release: PostgreSQL numbers them major.minor, the others major.minor.patch.
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag), f"{name}: {service['image']} is not exact"

    # The node, beside them: built, started only with --profile node (`docker compose up`
    # alone starts the dependencies), reaching each by its compose name.
    spec = project_spec(project)
    node = services["compose-check"]
    assert node["build"] == "."
    assert node["profiles"] == ["node"]
    assert node["ports"] == ["127.0.0.1:8080:8080"]
    assert list(node["depends_on"]) == ["postgres", "kafka", "redis", "consul"]  # not http
    assert node["environment"] == {
        "DATABASE_URL": "postgresql://onex:onex-dev-only@postgres:5432/compose_check",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",  # the broker's listener for containers
        "REDIS_URL": "redis://redis:6379/0",
        "CONSUL_HTTP_ADDR": "http://consul:8500",
    }
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert advertised == ["PLAINTEXT://localhost:9092", "INTERNAL://kafka:29092"]
    assert {v.name for v in spec.environment if v.compose_value} == set(node["environment"])
