"""Reads the `config:` block of a node's contract.yaml (the node's non-secret defaults)."""

from pathlib import Path

import yaml
from omnibase_core.enums.enum_core_error_code import EnumCoreErrorCode
from omnibase_core.errors.model_onex_error import ModelOnexError


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
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ModelOnexError(
            message=f"`config:` in {contract_path} must be a mapping",
            error_code=EnumCoreErrorCode.CONTRACT_VALIDATION_ERROR,
            contract=str(contract_path),
        )
    return {str(key): value for key, value in config.items()}
