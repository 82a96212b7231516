"""The use cases: one function per capability, called alike by the CLI and the HTTP API.

Each asks :func:`domain.access.authorize` first and passes the caller's author to every write
(docs/architecture.md).
"""
