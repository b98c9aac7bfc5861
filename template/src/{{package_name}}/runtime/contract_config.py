"""Reads the `config:` block of a node's contract.yaml (the node's non-secret defaults), and
turns invalid settings into one CONFIGURATION_ERROR that names the variables.

Settings may hold secrets (a password in DATABASE_URL, a token), so no error made here quotes
any part of a value: it names the variable and says what is wrong with it.
"""

from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from omnibase_core.enums.enum_core_error_code import EnumCoreErrorCode
from omnibase_core.errors.model_onex_error import ModelOnexError
from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic_settings import BaseSettings


def load_contract_config(contract_path: Path) -> dict[str, object]:
    """The contract's `config:` mapping ({} when absent); a malformed contract is an error."""
    try:
        contract = yaml.safe_load(contract_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelOnexError(
            message=f"cannot read contract {contract_path}: {exc}",
            error_code=EnumCoreErrorCode.CONTRACT_VALIDATION_ERROR,
            contract=str(contract_path),
        ) from exc
    config = contract.get("config") if isinstance(contract, dict) else None
    filled = error_handling_config(contract, contract_path)
    if config is None:
        return filled
    if not isinstance(config, dict):
        raise ModelOnexError(
            message=f"`config:` in {contract_path} must be a mapping",
            error_code=EnumCoreErrorCode.CONTRACT_VALIDATION_ERROR,
            contract=str(contract_path),
        )
    return filled | {str(key): value for key, value in config.items()}


# The contract's `error_handling:` section (the production ONEX shape) -> the settings it
# fills (runtime/model_node_settings.py; runtime/resilience.py uses them). Keys production
# contracts have and this node does not use (retry_on, error_sanitization, ...) are ignored.
_ERROR_HANDLING_SETTINGS: dict[tuple[str, str], str] = {
    ("retry_policy", "max_retries"): "retry_max_retries",
    ("retry_policy", "initial_delay_ms"): "retry_initial_delay_ms",
    ("retry_policy", "max_delay_ms"): "retry_max_delay_ms",
    ("retry_policy", "exponential_base"): "retry_exponential_base",
    ("circuit_breaker", "enabled"): "circuit_breaker_enabled",
    ("circuit_breaker", "failure_threshold"): "circuit_breaker_failure_threshold",
    ("circuit_breaker", "reset_timeout_ms"): "circuit_breaker_reset_timeout_ms",
    ("circuit_breaker", "half_open_max_requests"): "circuit_breaker_half_open_max_requests",
}


def error_handling_config(contract: object, contract_path: Path) -> dict[str, object]:
    """The settings `error_handling:` sets, by setting name ({} without the section)."""
    section = contract.get("error_handling") if isinstance(contract, dict) else None
    if section is None:
        return {}
    groups = {"retry_policy", "circuit_breaker"}
    if not isinstance(section, dict) or not all(
        isinstance(section.get(group, {}), dict) for group in groups
    ):
        raise ModelOnexError(
            message=f"`error_handling:` in {contract_path} must be a mapping whose "
            "retry_policy and circuit_breaker are mappings",
            error_code=EnumCoreErrorCode.CONTRACT_VALIDATION_ERROR,
            contract=str(contract_path),
        )
    return {
        setting: section[group][key]
        for (group, key), setting in _ERROR_HANDLING_SETTINGS.items()
        if key in section.get(group, {})
    }


class ModelEnvironmentSettings(BaseSettings):
    """BaseSettings whose invalid environment raises configuration_error(), not the
    ValidationError (whose text and traceback carry the offending values)."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise configuration_error(exc, type(self)) from None


def configuration_error(exc: ValidationError, model: type[BaseModel]) -> ModelOnexError:
    """One CONFIGURATION_ERROR for every problem in `exc`, each named by its variable."""
    problems = [
        (variable_name(model, error["loc"]), error["msg"].removeprefix("Value error, "))
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return ModelOnexError(
        message="invalid configuration: "
        # A check of several settings together has no single variable: its message names them.
        + "; ".join(
            f"{variable}: {problem}" if variable else problem for variable, problem in problems
        ),
        error_code=EnumCoreErrorCode.CONFIGURATION_ERROR,
        variables=[variable for variable, _ in problems],
    )


def variable_name(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The environment variable(s) a settings field is read from, e.g. `DATABASE_URL (or
    MY_NODE_DATABASE_URL)`; `loc` is pydantic's error location (a field name or alias)."""
    key = str(loc[0]) if loc else ""
    prefix = (
        str(model.model_config.get("env_prefix", "")) if issubclass(model, BaseSettings) else ""
    )
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        names = [str(choice) for choice in alias.choices] if isinstance(alias, AliasChoices) else []
        if key == name or key in names:
            if len(names) > 1:
                return f"{names[-1]} (or {', '.join(names[:-1])})"
            return names[0] if names else f"{prefix}{name}".upper()
    return key


def check_url(value: str, schemes: Collection[str], *, needs_host: bool = True) -> str:
    """`value` when it is a URL with one of `schemes` (and a host, when `needs_host`) whose
    port, if any, is a number; otherwise ValueError with a message quoting none of it."""
    try:
        parts = urlsplit(value)
        # Several hosts (PostgreSQL's host1:5432,host2:5433): check each one's port.
        _check_ports(parts.netloc.rpartition("@")[2].split(","))
    except ValueError:
        raise ValueError("not a valid URL (its host or port cannot be read)") from None
    if parts.scheme not in schemes:
        raise ValueError(f"not a URL starting with {' or '.join(f'{s}://' for s in schemes)}")
    if needs_host and not parts.hostname:
        raise ValueError("a URL without a host")
    return value


def check_host_list(value: str) -> str:
    """`value` when it is a comma-separated list of host[:port] (a broker list); otherwise
    ValueError with a message quoting none of it."""
    hosts = [host.strip() for host in value.split(",")]
    try:
        _check_ports(hosts)
    except ValueError:
        raise ValueError("not a comma-separated host:port list (a port is not a number)") from None
    if not all(hosts) or any(urlsplit(f"//{host}").hostname is None for host in hosts):
        raise ValueError("not a comma-separated host:port list (a host is missing)")
    return value


def _check_ports(hosts: list[str]) -> None:
    """ValueError when a `host[:port]` has a port that is not a number from 0 to 65535."""
    for host in hosts:
        _ = urlsplit(f"//{host}").port  # reading it raises ValueError for a bad port
