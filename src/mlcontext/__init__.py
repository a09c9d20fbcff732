"""mlcontext: the context layer of the machine-learning lifecycle."""

from __future__ import annotations

from .errors import *  # noqa: F403
from .errors import __all__ as _error_names
from .loops import current_loops, loop

__version__ = "0.1.0"

__all__ = [*_error_names, "__version__", "loop", "current_loops"]
