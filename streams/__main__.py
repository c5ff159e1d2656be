"""``python -m streams …`` is the ``cohortplan`` command without the simulator's commands (used to run workers
as subprocesses)."""
from streams.cli import main

main()
