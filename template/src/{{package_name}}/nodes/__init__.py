"""ONEX nodes of this package."""
