"""``python -m streams …`` is the ``cohortplan`` command (used to run workers as subprocesses)."""
from streams.cli import main

main()
