"""Consul: register this node with the local agent and discover other services (py-consul)."""
