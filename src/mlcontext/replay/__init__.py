"""replay layer (see docs/architecture.md)."""
