"""tracking layer (see docs/architecture.md)."""
