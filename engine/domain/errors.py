"""Errors raised by the domain model.

Every rule the domain refuses is a :class:`DomainError`, so adapters (handlers, API, CLI) can turn
any of them into a clear rejection without knowing each rule; subclasses exist where a caller
needs to tell one refusal from another.
"""
from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a reason a planner or engineer can act on."""


class UnknownProgramme(DomainError):
    """A programme code that the loaded catalogue does not contain.

    Raised instead of ``KeyError`` so the message names the code and what the catalogue offers:
    unmapped codes usually come from un-normalised upstream reference strings.
    """

    def __init__(self, code: str, known: tuple[str, ...] | list[str] = (), version: str = "") -> None:
        self.code = code
        self.known = tuple(known)
        self.version = version
        where = f"catalogue {version}" if version else "the catalogue"
        listing = ", ".join(self.known) if self.known else "none"
        super().__init__(f"unknown programme code {code!r} in {where}; known codes: {listing}")
