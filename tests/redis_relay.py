"""A TCP relay to the shared Redis that looks at the app when one chosen command goes by: the
real Redis answers everything; what the app holds while that round trip is under way (the
caller awaits its reply) can be seen (tests/test_admission_live.py: no database connection
held meanwhile).

Threads of its own (blocking sockets), not the test's event loop: a served app (tests/
live_server.py) connects its broadcaster through the relay while the test waits for it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

SHARED_REDIS = ("127.0.0.1", 6379)


class Relay:
    """Relays connections to the shared Redis. Once `watch(marker, look)` is called, the first
    command chunk carrying every byte string of `marker` has `look()` called before it goes on
    to Redis: its answer is kept in `seen`, and `caught` set."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.caught = threading.Event()
        self.seen: object = None
        self._marker: tuple[bytes, ...] = ()
        self._look: Callable[[], object] | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def watch(self, marker: tuple[bytes, ...], look: Callable[[], object]) -> None:
        with self._lock:
            self._marker, self._look = marker, look

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(SHARED_REDIS)
            self._sockets += [client, upstream]
            for source, target, commands in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, commands), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket, commands: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if commands:
                    self._see(chunk)
                target.sendall(chunk)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _see(self, chunk: bytes) -> None:
        with self._lock:
            if self._look is None or self.caught.is_set():
                return
            if all(part in chunk for part in self._marker):
                self.seen = self._look()
                self.caught.set()


@contextlib.contextmanager
def relay() -> Iterator[Relay]:
    running = Relay()
    try:
        yield running
    finally:
        running.close()
