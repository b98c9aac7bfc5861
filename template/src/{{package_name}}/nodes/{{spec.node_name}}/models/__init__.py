"""Typed request and response models (user-owned: add fields freely)."""
