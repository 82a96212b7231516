"""Adapters: the composition root, the command line and (later) the HTTP API."""
