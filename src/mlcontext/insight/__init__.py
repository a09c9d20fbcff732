"""insight layer (see docs/architecture.md)."""
