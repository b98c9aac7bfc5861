"""Kafka integration: the event publisher and the command-topic consumer (template-owned)."""
