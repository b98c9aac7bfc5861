"""Production runtime shared by the node: settings, logging, metrics, service entry."""
