"""Enums of the node."""
