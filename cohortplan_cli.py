"""The ``cohortplan`` command put together: the engine's commands (:mod:`engine.cli`, :mod:`engine.whatif_cli`), the simulator's
(generate, demo: :mod:`simulator.cli`), the broker's (worker, produce, tail, health: :mod:`streams.cli`) and the HTTP
API's (serve, token: :mod:`api.cli`).

This is the console entry point. Each of those modules adds its commands to the engine's Typer app when
imported; importing them here, and only here, keeps the engine free of both the simulator and the broker.
"""
from __future__ import annotations

from typer.main import get_command_name
from typer.models import CommandInfo

import api.cli  # noqa: F401  (registers serve, token)
import engine.whatif_cli  # noqa: F401  (registers whatif)
import simulator.cli  # noqa: F401  (registers generate, demo)
import streams.cli  # noqa: F401  (registers worker, produce, tail, health)
from engine.cli import app

# --help lists the commands in the order a user meets them: make events, apply and plan them, look, simulate,
# then serve. A command not named here comes after these, in the order it was registered.
HELP_ORDER = ("generate", "replay", "plan", "explain", "waitlist", "status", "deadletters", "parked", "alerts", "deliver",
              "demo", "whatif", "report", "worker", "produce", "tail", "health", "serve", "token")


def _rank(command: CommandInfo) -> int:
    name = command.name or get_command_name(command.callback.__name__)
    return HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)


app.registered_commands.sort(key=_rank)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
