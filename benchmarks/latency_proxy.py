"""A TCP proxy on the loopback that makes a local database look remote.

Every byte is held for ``delay`` seconds in each direction (25 ms each way is
a 50 ms round trip), and the proxy counts round trips: one *turn* each time
the server answers something the client sent since the server last spoke (a
message nobody answers, like libpq's goodbye, costs no wait and is not
counted). Opening a connection costs one more round trip for TCP's
handshake, which the proxy adds before it forwards anything,
so a client that connects and asks one question pays exactly what it would
pay over a real network: handshake, then each of its turns.

Counting turns rather than statements is what makes the figure honest: it
sees libpq's start-up exchange, BEGIN and COMMIT, and SQLAlchemy's own
questions on a first connection, none of which an ORM event reports; and
it does not count statements the driver sends together (a pipeline) twice.

    python benchmarks/latency_proxy.py --target 127.0.0.1:5432 --listen 6543 --delay-ms 25

Used as a library by ``benchmarks/remote_db.py`` and by the round-trip tests::

    with LatencyProxy(("127.0.0.1", 5432), delay=0.025) as proxy:
        ...connect to proxy.port...
        proxy.round_trips  # since start or the last reset()
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from dataclasses import dataclass


@dataclass
class Counts:
    connections: int = 0
    # One per TCP handshake plus one per turn the server answered.
    round_trips: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class _Link:
    """One client connection's turn-taking, for counting turns."""

    def __init__(self) -> None:
        self.sent_since_heard = False


class LatencyProxy:
    """The proxy, run on its own event loop in a daemon thread."""

    def __init__(self, target: tuple[str, int], *, delay: float = 0.0, listen: tuple[str, int] = ("127.0.0.1", 0)):
        self.target, self.delay, self.listen = target, delay, listen
        self._counts = Counts()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    # --- the caller's side ------------------------------------------------------

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait()
        return self

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def counts(self) -> Counts:
        with self._lock:
            return Counts(**vars(self._counts))

    @property
    def round_trips(self) -> int:
        return self.counts().round_trips

    def reset(self) -> None:
        with self._lock:
            self._counts = Counts()

    # --- the loop's side ------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, *self.listen))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._counts, name, getattr(self._counts, name) + delta)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._add(connections=1, round_trips=1)
        # TCP's handshake: SYN out, SYN-ACK back, before the client may speak.
        await asyncio.sleep(2 * self.delay)
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        link = _Link()
        try:
            await asyncio.gather(
                self._pump(client_r, server_w, link, up=True),
                self._pump(server_r, client_w, link, up=False),
                return_exceptions=True,
            )
        except asyncio.CancelledError:  # the proxy is stopping
            client_w.close()
            server_w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, *, up: bool) -> None:
        """Copy one direction, each chunk delivered ``delay`` after it was read
        (chunks queue behind each other, so a stream keeps its bandwidth)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        delivering = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(65536):
                if up:
                    link.sent_since_heard = True
                    self._add(bytes_up=len(chunk))
                else:
                    self._add(bytes_down=len(chunk), round_trips=int(link.sent_since_heard))
                    link.sent_since_heard = False
                queue.put_nowait((time.monotonic() + self.delay, chunk))
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait((0.0, b""))
            try:
                await delivering
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:5432", help="HOST:PORT of the database")
    parser.add_argument("--listen", type=int, default=6543, help="port on 127.0.0.1")
    parser.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay per direction")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    proxy = LatencyProxy((host, int(port)), delay=args.delay_ms / 1000, listen=("127.0.0.1", args.listen)).start()
    print(f"127.0.0.1:{proxy.port} -> {args.target}, {args.delay_ms:g} ms each way; ctrl+c prints the counts")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print(proxy.counts())
        proxy.stop()


if __name__ == "__main__":
    main()
