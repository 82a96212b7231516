"""The ``fundledger`` command line: one adapter over the use cases of :mod:`api.usecases`."""

from api.cli.app import app, main

__all__ = ["app", "main"]
