"""The server's HTTP protocol sets TCP_NODELAY where asyncio does not (several workers)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from api.http.protocol import NoDelayH11Protocol, NoDelayHttpToolsProtocol


async def _accepted_nodelay(protocol_class: type[asyncio.Protocol] | None) -> int:
    """TCP_NODELAY of a connection accepted on a socket bound as uvicorn binds it for workers."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn's
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    config = Config(app=lambda scope, receive, send: None)
    config.load()

    def factory() -> asyncio.Protocol:
        if protocol_class is None:
            return _Recorder(seen)
        recording = _recording(protocol_class)
        return recording(seen, config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]

    server = await loop.create_server(factory, sock=listening)
    port = listening.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.01)
    writer.close()
    server.close()
    return seen[0]


def _recording(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """The server's protocol, telling what it left on the socket."""

    class Recording(base):  # type: ignore[valid-type,misc]
        def __init__(self, seen: list[int], **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.seen = seen

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            self.seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    return Recording


class _Recorder(asyncio.Protocol):
    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        self.seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


Accepted = Coroutine[Any, Any, int]


def _in_own_thread(run: Callable[[Accepted], int], coroutine: Accepted) -> int:
    """Run the loop in a thread of its own: Playwright's loop (browser tests) runs in this one."""
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run(coroutine)))
    worker.start()
    worker.join(30)
    assert result, "the event loop did not finish"
    return result[0]


def test_asyncio_leaves_nagle_on_for_a_socket_bound_with_proto_0() -> None:
    """Why the protocol exists: without it, such connections wait for delayed ACKs."""
    assert _in_own_thread(asyncio.run, _accepted_nodelay(None)) == 0


@pytest.mark.parametrize("protocol", [NoDelayHttpToolsProtocol, NoDelayH11Protocol])
def test_the_servers_protocol_sets_tcp_nodelay(protocol: type[asyncio.Protocol]) -> None:
    assert _in_own_thread(asyncio.run, _accepted_nodelay(protocol)) != 0


def test_the_servers_protocol_sets_tcp_nodelay_under_uvloop() -> None:
    """``fundledger serve`` runs uvloop's event loop: the option holds there too."""
    import uvloop

    assert _in_own_thread(uvloop.run, _accepted_nodelay(NoDelayHttpToolsProtocol)) != 0


def test_serve_runs_the_httptools_protocol_on_uvloop() -> None:
    """What ``fundledger serve`` hands uvicorn (the protocol measured in bench/README.md)."""
    import inspect

    from api.cli import serve

    source = inspect.getsource(serve.serve)
    assert '"api.http.protocol:NoDelayHttpToolsProtocol"' in source
    assert 'loop="uvloop"' in source
