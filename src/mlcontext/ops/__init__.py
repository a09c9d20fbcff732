"""ops layer (see docs/architecture.md)."""
