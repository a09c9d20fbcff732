"""The ``mlcontext`` command line: a thin shell over the public Python API."""

from __future__ import annotations

from .main import cli, main

__all__ = ["cli", "main"]
