"""The organisation's own rules: who may host and who may join."""
