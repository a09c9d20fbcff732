"""integrations layer (see docs/architecture.md)."""
