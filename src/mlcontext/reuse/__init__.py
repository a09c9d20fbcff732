"""reuse layer (see docs/architecture.md)."""
