"""The HTTP protocol ``fundledger serve`` runs: uvicorn's httptools protocol with ``TCP_NODELAY``.

httptools (a C parser) costs the server less CPU per request than uvicorn's pure-Python h11
protocol; ``bench/http.py`` measures the difference (docs in bench/README.md).

With more than one worker, uvicorn binds the listening socket itself as
``socket.socket(AF_INET, SOCK_STREAM)``, whose ``proto`` is 0; asyncio sets ``TCP_NODELAY``
only on sockets whose ``proto`` says TCP, so the accepted connections keep Nagle's algorithm.
An answer written in two parts (head, then body) then waits for the client's delayed ACK:
about 40 ms added to every request, measured by ``bench/http.py``. Setting the option when
the connection is made removes that wait, whatever the number of workers or the event loop.
"""

from __future__ import annotations

import asyncio
import socket
from typing import cast

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """``TCP_NODELAY`` on the transport's socket, when it is a TCP one."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with ``TCP_NODELAY`` on every TCP connection it serves."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(cast(asyncio.Transport, transport))


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with ``TCP_NODELAY`` (for a Python without httptools)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(cast(asyncio.Transport, transport))
