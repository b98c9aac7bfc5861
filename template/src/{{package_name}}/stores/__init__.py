"""Storage adapters used by the example operations."""
