"""Shipping a generated node: container image, CI workflow, Kubernetes manifests, lock, licence.

Each artifact is checked by the real tool its ecosystem uses (hadolint, actionlint, zizmor,
kubernetes-validate, the KEDA CRD's own schema), for a project with Kafka and every other
integration and for one with none, and for the facts it states against the one place they
come from (extensions/node_spec.py, the generated settings models). Each checker is first
shown to refuse a bad file, so a checker that accepts anything cannot pass these tests.
No Docker engine or Kubernetes cluster is reachable here: the image is not built and the
manifests are not applied.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import TEMPLATE_ROOT, generate, project_spec

pytestmark = pytest.mark.xdist_group("ship")

BIN = Path(sys.executable).parent
KEDA_SCHEMA = TEMPLATE_ROOT / "tests" / "data" / "keda-scaledobject-v1alpha1.schema.json"
ALL = ["postgres", "kafka", "redis", "http", "consul"]


@pytest.fixture(scope="module")
def kafka_project(copie_session: Any) -> Path:
    """Every integration, Apache-2.0, and the lock task (the one render that runs `uv lock`;
    with run_checks the checks' `uv sync` writes it, tests/test_generated_projects.py)."""
    return generate(
        copie_session,
        service_name="ship_orders_effect",
        node_type="effect",
        integrations=ALL,
        license="Apache-2.0",
        lock_dependencies=True,
    )


@pytest.fixture(scope="module")
def plain_project(copie_session: Any) -> Path:
    """No integration, proprietary, no lock (no checks, no lock_dependencies)."""
    return generate(
        copie_session,
        service_name="ship_totals",
        node_type="compute",
        integrations=[],
        license="Proprietary",
    )


@pytest.fixture(params=["kafka_project", "plain_project"])
def project(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue(request.param)
    return path


def run(tool: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / tool), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def console_script(project: Path) -> str:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    (name,) = pyproject["project"]["scripts"]
    return str(name)


# ---------------------------------------------------------------------------------------------
# Container
# ---------------------------------------------------------------------------------------------
def test_hadolint_refuses_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    result = run("hadolint", bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def test_dockerfile_passes_hadolint_and_runs_the_locked_service_as_non_root(project: Path) -> None:
    dockerfile = project / "Dockerfile"
    result = run("hadolint", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr

    text = dockerfile.read_text()
    instructions = [line.split(None, 1) for line in re.sub(r"\\\n", " ", text).splitlines()]
    instructions = [i for i in instructions if i and not i[0].startswith("#")]
    froms = [args for op, args in instructions if op == "FROM"]
    assert len(froms) == 3, froms  # uv, build, runtime
    syncs = [args for op, args in instructions if op == "RUN" and "uv sync" in args]
    assert syncs, "no uv sync"
    assert all("--locked" in s and "--no-dev" in s for s in syncs), syncs
    script = console_script(project)
    runtime = text[text.rindex("FROM ") :]  # the last stage is the image
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert f'ENTRYPOINT ["{script}"]' in runtime
    assert re.search(rf'HEALTHCHECK .*CMD \["{script}", "--health-check"\]', runtime, re.S)
    port = yaml.safe_load((project / ".copier-answers.yml").read_text())["http_port"]
    assert f"EXPOSE {int(port)}" in runtime
    # Only the environment comes from the build stage: not uv, not the sources.
    assert re.findall(r"^COPY .*$", runtime, re.M) == ["COPY --from=build /opt/venv /opt/venv"]

    lines = (project / ".dockerignore").read_text().splitlines()
    ignored = [line for line in lines if line and not line.startswith("#")]
    for path in (".venv/", ".git/", "tests/", "deploy/"):
        assert path in ignored
    for needed in ("pyproject.toml", "uv.lock", "README.md", "LICENSE", "src"):
        assert needed not in ignored
        assert f"{needed}/" not in ignored


# ---------------------------------------------------------------------------------------------
# CI workflow and dependency updates
# ---------------------------------------------------------------------------------------------
def test_actionlint_and_zizmor_refuse_a_bad_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    assert run("actionlint", workflows / "bad.yml").returncode != 0
    zizmor = run("zizmor", "--offline", "--no-progress", tmp_path / ".github")
    assert zizmor.returncode != 0
    assert "template-injection" in zizmor.stdout
    assert "unpinned-uses" in zizmor.stdout


def test_ci_workflow_passes_actionlint_and_zizmor_and_starts_the_chosen_services(
    project: Path,
) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    actionlint = run("actionlint", workflow, cwd=project)
    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr
    zizmor = run("zizmor", "--offline", "--no-progress", project / ".github")
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr

    spec = project_spec(project)
    job = yaml.safe_load(workflow.read_text())["jobs"]["check"]
    services = job.get("services", {})
    assert set(services) == set(spec.integrations) - {"http"}
    compose = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    for name, service in services.items():
        assert service["image"] == compose[name]["image"] == spec.service_images[name]
    expected_env = {v.variable(spec.env_prefix): v.ci_value for v in spec.environment if v.ci_value}
    assert job.get("env", {}) == expected_env
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    runs = [step["run"] for step in steps if "run" in step]
    assert runs == ["uv lock --check", "python3 scripts/check_project.py"]

    dependabot = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"] for u in dependabot["updates"]}
    assert ecosystems == {"uv", "github-actions", "docker", "docker-compose"}


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------
def kustomized(project: Path) -> dict[str, dict[str, Any]]:
    """kind -> object of every file kustomization.yaml lists (and it lists every file)."""
    deploy = project / "deploy"
    kustomization = yaml.safe_load((deploy / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    assert sorted(resources) == sorted(
        p.name for p in deploy.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    objects = {}
    for name in resources:
        (obj,) = load_all(deploy / name)
        objects[obj["kind"]] = obj
    return objects


def test_kubernetes_validate_refuses_a_bad_object(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: http}], selectorz: {}}\n"
    )
    assert run("kubernetes-validate", "--strict", bad).returncode != 0


def test_every_manifest_passes_kubernetes_validate_strict(project: Path) -> None:
    objects = kustomized(project)
    kafka = "kafka" in project_spec(project).integrations
    builtin = {"Deployment", "Service", "PodDisruptionBudget"} | ({"ConfigMap"} if kafka else set())
    assert set(objects) == builtin | ({"ScaledObject"} if kafka else set())
    files = [p for p in (project / "deploy").glob("*.yaml") if p.stem != "kustomization"]
    files = [p for p in files if p.stem != "scaledobject"]  # a custom resource: below
    result = run("kubernetes-validate", "--strict", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(builtin), result.stdout


def test_deployment_states_the_environment_probes_and_grace_period(project: Path) -> None:
    spec = project_spec(project)
    objects = kustomized(project)
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    port = container["ports"][0]
    assert port["name"] == "http"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True

    env = {e["name"]: e for e in container["env"]}
    assert env[f"{spec.env_prefix}HTTP_PORT"]["value"] == str(port["containerPort"])
    for variable in spec.environment:
        source = env[variable.variable(spec.env_prefix)]["valueFrom"]
        if variable.secret:
            assert source["secretKeyRef"]["name"].endswith("-secrets")
        else:
            config = objects["ConfigMap"]
            assert source["configMapKeyRef"]["name"] == config["metadata"]["name"]
            assert config["data"][source["configMapKeyRef"]["key"]] == variable.example
    # Every variable is one the generated settings read (a conventional name is spelled out
    # in its settings model; a prefixed one is a field of the model with that env prefix).
    settings = "\n".join(p.read_text() for p in (project / "src").rglob("model_*settings.py"))
    for variable in spec.environment:
        if variable.prefixed:
            prefix, _, field = variable.name.lower().rpartition("_client_")
            assert f'env_prefix=f"{{ENV_PREFIX}}{prefix.upper()}_CLIENT_"' in settings
            assert re.search(rf"^    {field}: ", settings, re.M), variable.name
        else:
            assert f'"{variable.name}"' in settings, variable.name

    grace = pod["terminationGracePeriodSeconds"]
    assert grace == spec.termination_grace_seconds
    if "kafka" in spec.integrations:
        kafka_settings = next((project / "src").rglob("model_kafka_settings.py")).read_text()
        timeouts = {
            name: float(
                re.search(rf"{name}: float = Field\(\s*default=([\d.]+)", kafka_settings)[1]
            )
            for name in ("drain_timeout_seconds", "flush_timeout_seconds")
        }
        import node_spec

        # node_spec's copies of the Kafka defaults are the generated settings' defaults.
        assert timeouts == {
            "drain_timeout_seconds": node_spec.KAFKA_DRAIN_TIMEOUT_SECONDS,
            "flush_timeout_seconds": node_spec.KAFKA_FLUSH_TIMEOUT_SECONDS,
        }
        assert grace > sum(timeouts.values())
        assert "replicas" not in objects["Deployment"]["spec"]  # KEDA owns it


def test_keda_schema_refuses_a_bad_scaled_object() -> None:
    schema = json.loads(KEDA_SCHEMA.read_text())
    bad = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "maxReplicaCount": "six",
            "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 20}}],
        },
    }
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(bad))
    assert len(errors) == 2, [e.message for e in errors]


def test_scaled_object_passes_the_keda_schema_and_scales_on_the_command_topic(
    kafka_project: Path,
) -> None:
    spec = project_spec(kafka_project)
    objects = kustomized(kafka_project)
    scaled = objects["ScaledObject"]
    jsonschema.Draft7Validator(json.loads(KEDA_SCHEMA.read_text())).validate(scaled)

    deployment = objects["Deployment"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["maxReplicaCount"] == spec.command_topic_partitions
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["topic"] == spec.command_topic
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    # KEDA reads these from the container, so the lag it measures is of the node's own group.
    assert trigger["metadata"]["bootstrapServersFromEnv"] in env
    group_variable = trigger["metadata"]["consumerGroupFromEnv"]
    assert group_variable == f"{spec.env_prefix}KAFKA_CONSUMER_GROUP"
    assert env[group_variable]["value"] == spec.service_name


def test_no_scaled_object_without_kafka(plain_project: Path) -> None:
    assert not (plain_project / "deploy" / "scaledobject.yaml").exists()
    assert not (plain_project / "deploy" / "configmap.yaml").exists()
    assert kustomized(plain_project)["Deployment"]["spec"]["replicas"] == 2


def test_compose_without_integrations_holds_the_node_alone(plain_project: Path) -> None:
    """(tests/test_compose.py checks the node beside every dependency.)"""
    services = yaml.safe_load((plain_project / "compose.yaml").read_text())["services"]
    assert list(services) == ["ship-totals"]
    assert services["ship-totals"]["build"] == "."
    assert "depends_on" not in services["ship-totals"]
    assert "environment" not in services["ship-totals"]


# ---------------------------------------------------------------------------------------------
# Lock and licence
# ---------------------------------------------------------------------------------------------
def test_the_lock_task_leaves_a_current_uv_lock(kafka_project: Path, plain_project: Path) -> None:
    assert (kafka_project / "uv.lock").is_file()
    check = subprocess.run(
        ["uv", "lock", "--check", "--offline"],
        cwd=kafka_project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert not (plain_project / "uv.lock").exists()  # no checks asked, no lock


def test_pyproject_license_field_and_upper_bounds(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    answer = yaml.safe_load((project / ".copier-answers.yml").read_text())["license"]
    expected = "LicenseRef-Proprietary" if answer == "Proprietary" else answer
    assert pyproject["project"]["license"] == expected
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    requirements = [
        *pyproject["build-system"]["requires"],
        *pyproject["project"]["dependencies"],
        *pyproject["dependency-groups"]["dev"],
    ]
    for requirement in requirements:
        # PEP 440 versions, pre-releases too (the OpenTelemetry instrumentors are 0.66b1); an
        # environment marker (uvloop's `; sys_platform != 'win32'`) follows the bounds.
        specifier = requirement.split(";")[0].strip()
        assert re.search(r">=\d[\w.]*,<\d[\w.]*$", specifier), f"{requirement}: no upper bound"


@pytest.mark.parametrize(
    ("choice", "first_words"),
    [
        ("MIT", "MIT License"),
        ("Apache-2.0", "Apache License"),
        ("BSD-3-Clause", "BSD 3-Clause License"),
        ("Proprietary", "Copyright (c) The node authors. All rights reserved."),
    ],
)
def test_license_text_per_choice(choice: str, first_words: str) -> None:
    """LICENSE.jinja for each choice of the question (copier.yml's choices, all of them)."""
    import jinja2  # Copier's Jinja; only this test renders a template file by hand

    choices = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["license"]["choices"]
    assert choice in choices.values()
    source = (TEMPLATE_ROOT / "template" / "LICENSE.jinja").read_text()
    text = (
        jinja2.Environment(keep_trailing_newline=True)
        .from_string(source)
        .render(license=choice, service_name="node")
    )
    assert text.lstrip().startswith(first_words), text[:200]
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert "{" not in text
    if choice == "Proprietary":
        assert "No licence" in text


def test_generated_license_files(kafka_project: Path, plain_project: Path) -> None:
    assert "Apache License" in (kafka_project / "LICENSE").read_text()
    assert "All rights reserved" in (plain_project / "LICENSE").read_text()


def test_readme_deploy_section_names_the_secret_keys_and_the_partitions(project: Path) -> None:
    spec = project_spec(project)
    readme = (project / "README.md").read_text()
    deploy = readme[readme.index("## Deploy") : readme.index("## Updating")]
    assert "kubectl apply -k deploy/" in deploy
    for variable in spec.secret_environment:
        assert f"--from-literal={variable.variable(spec.env_prefix)}=" in deploy
    assert ("--from-literal" in deploy) == bool(spec.secret_environment)
    assert f"{spec.termination_grace_seconds} s" in deploy
    if "kafka" in spec.integrations:
        assert f"--partitions {spec.command_topic_partitions}" in deploy
    else:
        assert "KEDA" not in deploy
    updating = readme[readme.index("## Updating") :]
    assert "copier update" in updating
    assert "Renovate" in updating
