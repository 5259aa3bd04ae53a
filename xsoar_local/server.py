"""A local CertStream-compatible websocket server that replays a file, with fault injection.

    server = CertStreamServer("xsoar_local/samples/demo_stream.txt", drop_every=500)
    port = server.start()            # background thread; 127.0.0.1 and a free port by default
    ... connect to server.url("/full-stream") ...
    server.wait_idle(timeout=30)     # every client has been served the whole file
    server.stop()

Endpoints: `/` (lite, no DER), `/full-stream`, `/domains-only`; any other path gets HTTP 404.
Each connection replays the file from its start, except with drop_every, abrupt_every or
stall_after: then the position is kept per server, so a client that reconnects resumes where its
previous connection stopped (and concurrent clients share the stream). At the end of the file the
server closes with 1000 (unless loop=True); a drop_every disconnect uses 1012 (service restart).

Faults (keyword arguments; CLI options from add_fault_arguments): drop_every=N (close after N
messages), abrupt_every=N (TCP abort, no close frame), stall_after=N [stall_once] (silence, the
connection stays open), stall_every=N (silence each time the whole stream reaches a multiple of N), refuse_status=CODE [refuse_times=K] (HTTP error instead of the handshake),
garbage_every=N (malformed frames), heartbeats_only, drip=SECONDS, heartbeat_interval=SECONDS.

Run on its own: `python -m xsoar_local.server FILE --port 8080 [--rate N] [--loop] [faults]`.
"""
from __future__ import annotations

import argparse
import asyncio
import http
import os
import threading
import time
from typing import Callable, Iterator

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .messages import GARBAGE_FRAMES, endpoint_for, heartbeat, iter_items, render, source_kind

FAULT_OPTIONS = ("drop_every", "stall_after", "stall_once", "stall_every", "refuse_status", "refuse_times",
                 "garbage_every", "heartbeats_only", "drip", "abrupt_every", "heartbeat_interval")
END_OF_FILE_CODE = 1000
DROP_CODE = 1012  # "service restart": the client should reconnect (1000/1001 read as a clean end)
NONSTANDARD_REASONS = {520: "Web Server Returned an Unknown Error", 521: "Web Server Is Down",
                       522: "Connection Timed Out", 523: "Origin Is Unreachable", 524: "A Timeout Occurred"}


class _Cursor:
    """A position in the source. Takes items one at a time; an item that could not be sent is put
    back so the next connection sends it. With loop, the file restarts at its end."""

    def __init__(self, open_items: Callable[[], Iterator], loop: bool):
        self._open_items = open_items
        self._loop = loop
        self._items = open_items()
        self._put_back: list = []

    def take(self):
        """The next item, or None at the end of the file."""
        if self._put_back:
            return self._put_back.pop()
        item = next(self._items, None)
        if item is None and self._loop:
            self._items = self._open_items()
            item = next(self._items, None)
        return item

    def put_back(self, item) -> None:
        self._put_back.append(item)

    def close(self) -> None:
        self._items.close()


class CertStreamServer:
    def __init__(self, source, host: str = "127.0.0.1", port: int = 0, rate: float | None = None,
                 loop: bool = False, *, drop_every: int | None = None, stall_after: int | None = None,
                 stall_once: bool = True, refuse_status: int | None = None, refuse_times: int | None = None,
                 garbage_every: int | None = None, heartbeats_only: bool = False, drip: float | None = None,
                 abrupt_every: int | None = None, stall_every: int | None = None,
                 heartbeat_interval: float | None = 30.0,
                 ping_interval: float | None = 30.0, ping_timeout: float | None = 35.0):
        """source: a .jsonl / .txt file (optionally .gz). rate: messages per second per connection
        (None: as fast as the client reads). refuse_times=None with refuse_status refuses every
        handshake. heartbeat_interval None or 0 sends no heartbeat frames."""
        self.source = os.fspath(source)
        source_kind(self.source)  # ValueError for an unsupported file type
        if not os.path.isfile(self.source):
            raise FileNotFoundError(self.source)
        self.host, self.port, self.rate, self.loop = host, port, rate, loop
        self.drop_every, self.abrupt_every, self.garbage_every = drop_every, abrupt_every, garbage_every
        self.stall_after, self.stall_once = stall_after, stall_once
        self.stall_every = stall_every  # a stall each time the whole stream passes a multiple of N
        self._last_stall_at = 0
        self.refuse_status, self.refuse_times = refuse_status, refuse_times
        self.heartbeats_only, self.drip = heartbeats_only, drip
        self.heartbeat_interval = heartbeat_interval or None
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        # counters (written by the server thread, read from anywhere)
        self.messages_sent = 0  # frames from the file
        self.garbage_sent = 0
        self.heartbeats_sent = 0
        self.connections = 0  # websocket connections accepted
        self.active_connections = 0
        self.refused = 0  # handshakes refused with refuse_status
        self.files_completed = 0  # connections that reached the end of the file
        self.stalls = 0
        self._shared_cursor: _Cursor | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._startup_error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> int:
        """Binds, serves from a background thread, returns the port."""
        if self._thread:
            raise RuntimeError("server already started")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_thread, args=(ready,), name="certstream-server",
                                        daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._startup_error:
            self._thread.join(1)
            self._thread = None
            raise self._startup_error
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        if not self._thread:
            return
        if self._loop and self._stop_requested:
            self._loop.call_soon_threadsafe(self._stop_requested.set)
        self._thread.join(timeout)
        self._thread = None

    def serve_forever(self) -> None:
        """Serves in the foreground until Ctrl-C."""
        try:
            asyncio.run(self._serve(self._announce))
        except KeyboardInterrupt:
            pass

    def __enter__(self) -> "CertStreamServer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def url(self, path: str = "/full-stream") -> str:
        return f"ws://{self.host}:{self.port}{path}"

    def wait_for(self, condition: Callable[["CertStreamServer"], bool], timeout: float = 10.0) -> bool:
        """Polls condition(server) until true (returns True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once the whole file has been served (a connection reached its end) and no client is
        still connected."""
        return self.wait_for(lambda s: s.files_completed > 0 and s.active_connections == 0, timeout)

    def _run_thread(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready.set))
        except BaseException as error:  # reported by start()
            self._startup_error = error
        finally:
            ready.set()

    async def _serve(self, on_ready: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        if self.drop_every or self.abrupt_every or self.stall_every or self.stall_after is not None:
            self._shared_cursor = self._new_cursor()
        server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                             ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
                             close_timeout=2, compression=None)
        self.port = server.sockets[0].getsockname()[1]
        on_ready()
        try:
            await self._stop_requested.wait()
        finally:
            server.close()
            try:
                await asyncio.wait_for(server.wait_closed(), 3)
            except (asyncio.TimeoutError, TimeoutError):
                pass  # asyncio.run cancels the handlers still running
            if self._shared_cursor:
                self._shared_cursor.close()
                self._shared_cursor = None

    def _announce(self) -> None:
        print(f"CertStream server on ws://{self.host}:{self.port}/ (lite), /full-stream, /domains-only "
              f"replaying {self.source}; Ctrl-C stops", flush=True)

    # -- handshake ---------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if endpoint_for(request.path) is None:
            return http_response(404, f"No CertStream endpoint at {request.path}; use /, /full-stream "
                                      f"or /domains-only\n")
        if self.refuse_status and (self.refuse_times is None or self.refused < self.refuse_times):
            self.refused += 1
            return http_response(self.refuse_status, "CertStream server unavailable (fault injection)\n")
        return None

    # -- streaming ---------------------------------------------------------------------------
    def _new_cursor(self) -> _Cursor:
        return _Cursor(lambda: iter_items(self.source), self.loop)

    async def _handle(self, websocket: ServerConnection) -> None:
        self.connections += 1
        self.active_connections += 1
        heartbeats = asyncio.create_task(self._send_heartbeats(websocket)) if self.heartbeat_interval else None
        try:
            if self.heartbeats_only:
                await websocket.wait_closed()
            else:
                await self._stream_file(websocket, endpoint_for(websocket.request.path), heartbeats)
        except ConnectionClosed:
            pass
        finally:
            if heartbeats:
                heartbeats.cancel()
            self.active_connections -= 1

    async def _stream_file(self, websocket: ServerConnection, endpoint: str, heartbeats) -> None:
        cursor = self._shared_cursor or self._new_cursor()
        sent_here = 0
        started = asyncio.get_running_loop().time()
        try:
            while True:
                if self._should_stall(sent_here):
                    await self._stall(websocket, heartbeats)
                    return
                item = cursor.take()
                if item is None:
                    self.files_completed += 1
                    await websocket.close(END_OF_FILE_CODE, "end of stream")
                    return
                try:
                    await websocket.send(render(item, endpoint))
                except ConnectionClosed:
                    cursor.put_back(item)  # not sent: the next connection gets it
                    raise
                sent_here += 1
                self.messages_sent += 1
                if await self._inject_faults(websocket, sent_here):
                    return
                await self._pace(sent_here, started)
        finally:
            if cursor is not self._shared_cursor:
                cursor.close()

    async def _inject_faults(self, websocket: ServerConnection, sent_here: int) -> bool:
        """Garbage, drops and aborts after a message; True when the connection is gone."""
        if self.garbage_every and sent_here % self.garbage_every == 0:
            await websocket.send(GARBAGE_FRAMES[self.garbage_sent % len(GARBAGE_FRAMES)])
            self.garbage_sent += 1
        if self.drop_every and sent_here % self.drop_every == 0:
            await websocket.close(DROP_CODE, "drop_every")
            return True
        if self.abrupt_every and sent_here % self.abrupt_every == 0:
            websocket.transport.abort()  # no close frame; unsent buffered frames are lost
            return True
        return False

    async def _pace(self, sent_here: int, started: float) -> None:
        if self.drip:
            await asyncio.sleep(self.drip)
        if self.rate:
            delay = started + sent_here / self.rate - asyncio.get_running_loop().time()
            await asyncio.sleep(max(delay, 0))
        elif sent_here % 50 == 0:
            # send() only yields when the write buffer is full; let heartbeats and other clients run
            await asyncio.sleep(0)

    def _should_stall(self, sent_here: int) -> bool:
        if self.stall_every and self.messages_sent and self.messages_sent % self.stall_every == 0 \
                and self.messages_sent != self._last_stall_at:
            self._last_stall_at = self.messages_sent
            return True
        if self.stall_after is None or sent_here != self.stall_after:
            return False
        return not (self.stall_once and self.stalls)

    async def _stall(self, websocket: ServerConnection, heartbeats) -> None:
        """Silence on an open connection: no messages, heartbeats or server pings (the library
        still answers the client's pings) until the client or the server closes it."""
        self.stalls += 1
        if heartbeats:
            heartbeats.cancel()
        if websocket.keepalive_task:
            websocket.keepalive_task.cancel()
        await websocket.wait_closed()

    async def _send_heartbeats(self, websocket: ServerConnection) -> None:
        try:
            while True:
                await asyncio.sleep(self.heartbeat_interval)
                await websocket.send(heartbeat())
                self.heartbeats_sent += 1
        except ConnectionClosed:
            pass


def http_response(status: int, text: str) -> Response:
    """A plain-text HTTP response; unlike websockets' reject() it accepts codes such as 521."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = NONSTANDARD_REASONS.get(status, "Error")
    body = text.encode()
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                       ("Connection", "close")])
    return Response(status, reason, headers, body)


# ---------------------------------------------------------------------------------------------
# Command-line options (also used by `xsoar-local serve`)
# ---------------------------------------------------------------------------------------------
def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fault injection")
    group.add_argument("--drop-every", type=int, metavar="N",
                       help="close the connection (code 1012) after every N messages; reconnecting clients resume")
    group.add_argument("--stall-after", type=int, metavar="N",
                       help="after N messages send nothing more (no heartbeats, no pings) but keep the connection open")
    group.add_argument("--stall-every", type=int, metavar="N",
                       help="go silent each time the stream as a whole reaches a multiple of N messages")
    group.add_argument("--stall-every-connection", dest="stall_once", action="store_false", default=None,
                       help="with --stall-after, stall every connection, not only the first")
    group.add_argument("--refuse-status", type=int, metavar="CODE",
                       help="answer handshakes with this HTTP status (e.g. 503, 521)")
    group.add_argument("--refuse-times", type=int, metavar="K",
                       help="refuse only the first K handshakes (default: all)")
    group.add_argument("--garbage-every", type=int, metavar="N",
                       help="after every N messages send a malformed frame (rotating kinds)")
    group.add_argument("--heartbeats-only", action="store_true", default=None,
                       help="send heartbeats but no certificates")
    group.add_argument("--drip", type=float, metavar="SECONDS", help="pause between messages")
    group.add_argument("--abrupt-every", type=int, metavar="N",
                       help="drop the TCP connection without a close frame after every N messages")
    group.add_argument("--heartbeat-interval", type=float, metavar="SECONDS",
                       help="seconds between heartbeat frames (default 30; 0 disables)")


def faults_from_args(namespace: argparse.Namespace) -> dict:
    """The CertStreamServer keyword arguments for the fault options that were given."""
    return {name: getattr(namespace, name) for name in FAULT_OPTIONS
            if getattr(namespace, name, None) is not None}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xsoar_local.server",
                                     description="Serve a .jsonl/.txt file as a CertStream websocket server.")
    parser.add_argument("file", help=".jsonl of certificate_update messages or .txt of domain names (.gz ok)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rate", type=float, help="messages per second per connection (default: as fast as read)")
    parser.add_argument("--loop", action="store_true", help="restart the file at its end")
    add_fault_arguments(parser)
    args = parser.parse_args(argv)
    CertStreamServer(args.file, host=args.host, port=args.port, rate=args.rate, loop=args.loop,
                     **faults_from_args(args)).serve_forever()


if __name__ == "__main__":
    main()
