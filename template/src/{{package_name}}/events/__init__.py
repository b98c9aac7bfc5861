"""Event catalog, the OnexEnvelopeV1 model and the publishers."""
