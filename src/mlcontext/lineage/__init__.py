"""lineage layer (see docs/architecture.md)."""
