"""Stream a docker-py chunked JSON response (build, push, pull) into async code, cancellably.

docker-py is blocking, so the request runs in a worker thread that forwards each
decoded JSON object to the event loop. Leaving the context early (cancellation,
deadline, an error) shuts the response socket down, which unblocks the thread
and tells the engine the client went away (the classic builder and the
distribution code stop the operation when their client disconnects).

Holding that socket needs docker-py's private request helpers (its public build/push/pull hide the response, ADR
0041). They are used in this module only (:data:`PRIVATE_API` lists them; a test checks the installed docker-py has
each and that no other module calls one), so a docker-py release that changes them fails one test, not a build.
"""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from anyio.lowlevel import EventLoopToken, current_token
from anyio.streams.memory import MemoryObjectSendStream

Chunk = dict[str, Any]

#: the private members of docker-py's APIClient this module relies on
PRIVATE_API = (
    "_post",
    "_url",
    "_set_auth_headers",
    "_raise_for_status",
    "_get_raw_response_socket",
    "_stream_helper",
)


def add_config_auth(api: Any, headers: dict[str, str]) -> None:
    """Add the Docker config's registry credentials to ``headers``, as ``docker build`` sends them (a failing
    credential helper raises docker-py's error here, before any request)."""
    api._set_auth_headers(headers)


def streaming_post(
    api: Any, path: str, *path_args: str, params: dict[str, Any], headers: dict[str, str], data: Any = None
) -> Callable[[], Any]:
    """The streaming POST docker-py's own build/push/pull send, unstarted (:func:`json_stream` starts it in its
    worker)."""
    url = api._url(path, *path_args)

    def start() -> Any:
        return api._post(url, data=data, params=params, headers=headers, stream=True, timeout=None)

    return start


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.response: Any = None
        self.sock: Any = None
        self.closed = False

    def abort(self) -> None:
        with self.lock:
            self.closed = True
            sock, response = self.sock, self.response
        if sock is not None:
            raw = getattr(sock, "_sock", sock)
            with suppress(OSError, AttributeError):
                raw.shutdown(socket.SHUT_RDWR)
        if response is not None:
            with suppress(Exception):
                response.close()


def _put(
    send: MemoryObjectSendStream[Chunk | BaseException], item: Chunk | BaseException, token: EventLoopToken
) -> None:
    with suppress(Exception):
        anyio.from_thread.run_sync(send.send_nowait, item, token=token)


@asynccontextmanager
async def json_stream(api: Any, start: Callable[[], Any]) -> AsyncIterator[AsyncIterator[Chunk]]:
    """Run ``start()`` (a docker-py ``_post(..., stream=True)``) in a thread; iterate its JSON chunks.

    The worker is a daemon thread, not an anyio worker, so an abandoned read never holds up the event loop.
    Errors raised by ``start`` or while reading (docker's ``APIError``, connection errors) are re-raised
    in the consumer, unchanged, for the caller to classify.
    """
    send, receive = anyio.create_memory_object_stream[Chunk | BaseException](max_buffer_size=math.inf)
    holder = _Holder()
    token = current_token()

    def worker() -> None:
        try:
            response = start()
            with holder.lock:
                holder.response = response
                closed = holder.closed
            if closed:
                response.close()
                return
            api._raise_for_status(response)
            sock = api._get_raw_response_socket(response)
            with holder.lock:
                holder.sock = sock
            for chunk in api._stream_helper(response, decode=True):
                if holder.closed:
                    return
                _put(send, chunk, token)
        except BaseException as e:
            if not holder.closed:
                _put(send, e, token)
        finally:
            with suppress(Exception):
                anyio.from_thread.run_sync(send.close, token=token)

    async def chunks() -> AsyncIterator[Chunk]:
        async for item in receive:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=worker, name="containerkit-engine-stream", daemon=True)
    thread.start()
    try:
        yield chunks()
    finally:
        holder.abort()
        receive.close()
