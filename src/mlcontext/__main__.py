"""``python -m mlcontext`` is the ``mlcontext`` command."""

from mlcontext.cli import main

main()
