"""Protocols the node depends on; adapters implement them."""
