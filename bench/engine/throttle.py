"""A user-space rate-limiting TCP proxy: the bandwidth profiles of a cold pull.

The kernel on bench's machines has no traffic-control qdiscs (`tc ... tbf` fails), so a
slow link is modelled by a small proxy between the cold engine and the local registry:

    cold dockerd --> 127.0.0.1:<throttle port> --> 127.0.0.1:<registry port>

One token bucket is shared by every connection, because docker pulls several layers in
parallel and a real link caps their total, not each of them. The bucket hands out
reservations (the balance may go negative), so callers queue up in arrival order and the
long-run rate is exact: over N bytes the error is at most one burst (plus, where the
proxy itself was starved of CPU, a bounded catch-up; see TokenBucket).

Only the downstream direction (registry -> client) is shaped unless `shape_upstream` is
set; a pull sends a few hundred bytes of requests and receives the layers.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

from bench.errors import UserError

log = logging.getLogger("bench.engine.throttle")

CHUNK_BYTES = 256 * 1024  # fewer Python iterations per byte: 1 Gbit/s is ~480 reads/s
BURST_SECONDS = 0.005  # what an idle link lets through at once
CATCHUP_SECONDS = 0.05  # how late a pump may come back and still catch up


class Clock:
    """Monotonic time and sleeping until a deadline. Tests swap in a virtual clock."""

    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline: float) -> None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(left)


class TokenBucket:
    """A token bucket in bytes, shared by threads.

    `take(n)` reserves n bytes and blocks until the reservation is due. The balance may go
    negative: a caller that finds a debt waits until the debt is paid off at `rate`, which
    serialises concurrent callers without starving any of them.

    A caller that comes back up to `catchup_seconds` after the last booking fell due
    (descheduled on a loaded machine, or busy in sendall) gets that time credited and
    catches up, instead of the link losing it: the emulated link keeps its rate rather
    than the rate the proxy happened to get CPU for. A longer gap is an idle link, which
    restarts with at most `burst`. Either way, by time t no more than burst + rate * t
    bytes have been granted since the bucket was made.
    """

    def __init__(
        self,
        bytes_per_second: float,
        burst_bytes: float,
        clock: Clock | None = None,
        *,
        catchup_seconds: float = 0.0,
    ):
        if not bytes_per_second > 0:
            raise ValueError(f"rate must be positive, got {bytes_per_second!r}")
        if burst_bytes <= 0:
            raise ValueError(f"burst must be positive, got {burst_bytes!r}")
        self.rate = float(bytes_per_second)
        self.burst = float(burst_bytes)
        self.catchup_seconds = float(catchup_seconds)
        self.bank = max(self.burst, self.rate * self.catchup_seconds)
        self.clock = clock or Clock()
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._t = self.clock.now()
        self._last_due = float("-inf")  # nothing booked yet: the first caller finds an idle link
        self.taken = 0  # bytes granted in total
        self.waited_seconds = 0.0  # summed over callers (they may wait concurrently)

    def reserve(self, n: int) -> float:
        """Book n bytes; return the time at which they may be sent."""
        with self._lock:
            now = self.clock.now()
            cap = self.bank if now - self._last_due <= self.catchup_seconds else self.burst
            self._tokens = min(cap, self._tokens + (now - self._t) * self.rate)
            self._t = now
            self._tokens -= n
            self.taken += n
            due = now if self._tokens >= 0 else now + (-self._tokens) / self.rate
            self._last_due = max(self._last_due, due)
            self.waited_seconds += due - now
            return due

    def take(self, n: int) -> None:
        due = self.reserve(n)
        self.clock.sleep_until(due)


@dataclass
class ThrottleStats:
    connections: int = 0
    bytes_down: int = 0  # upstream (registry) -> client
    bytes_up: int = 0  # client -> upstream
    # Monotonic times of the first and last byte sent to the client: the span a pull spent
    # on the wire (the rest of a pull is the engine's: manifests, decompression, extraction).
    first_down: float | None = None
    last_down: float | None = None

    @property
    def wire_seconds(self) -> float | None:
        if self.first_down is None or self.last_down is None:
            return None
        return self.last_down - self.first_down


class Throttle:
    """`with Throttle(("127.0.0.1", 5000), bits_per_second=150e6) as t:` then connect to
    `t.address` ("127.0.0.1:<port>") instead of the upstream.

    Threads: one accepts, two per connection copy bytes. Closing stops accepting, shuts
    every open connection down and joins the threads.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        bits_per_second: float,
        *,
        shape_upstream: bool = False,
        burst_bytes: int | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        catchup_seconds: float = CATCHUP_SECONDS,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
    ):
        if bits_per_second is None or not bits_per_second > 0:
            raise UserError(
                f"a throttle needs a positive bandwidth in bits per second, got {bits_per_second!r}; "
                "pull directly for the loopback profile"
            )
        self.upstream = (upstream[0], int(upstream[1]))
        self.bits_per_second = float(bits_per_second)
        self.chunk_bytes = int(chunk_bytes)
        bytes_per_second = self.bits_per_second / 8
        # An idle link lets 5 ms worth through at once (at least 16 KiB): small against a
        # multi-MB transfer, since the error over N bytes is at most one burst plus the
        # catch-up allowance, and that only where the proxy itself fell behind.
        burst = burst_bytes if burst_bytes is not None else max(16 * 1024, bytes_per_second * BURST_SECONDS)
        clock = clock or Clock()
        kw = {"catchup_seconds": catchup_seconds}
        self.down = TokenBucket(bytes_per_second, burst, clock, **kw)
        self.up = TokenBucket(bytes_per_second, burst, clock, **kw) if shape_upstream else None
        self.host = host
        self.port: int | None = None
        self.stats = ThrottleStats()
        self._stats_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("throttle is not started")
        return f"{self.host}:{self.port}"

    def start(self) -> "Throttle":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, 0))
        ls.listen(128)
        ls.settimeout(0.2)  # so the accept loop notices close()
        self._listener = ls
        self.port = ls.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"throttle-accept-{self.port}", daemon=True)
        self._accept_thread.start()
        log.info(
            "throttle %s -> %s:%d at %.0f bit/s", self.address, self.upstream[0], self.upstream[1], self.bits_per_second
        )
        return self

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            try:
                self._listener.close()
            except OSError:
                pass
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        with self._lock:
            socks = list(self._socks)
            threads = list(self._threads)
        for s in socks:
            _shutdown(s, socket.SHUT_RDWR)
        for t in threads:
            t.join(timeout=5)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def reset_stats(self) -> None:
        with self._stats_lock:
            self.stats = ThrottleStats()

    def __enter__(self) -> "Throttle":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- forwarding --------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return  # listener closed
            client.settimeout(None)
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError as e:
                log.warning("throttle: upstream %s:%d refused: %s", *self.upstream, e)
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._stats_lock:
                self.stats.connections += 1
                n = self.stats.connections
            conn = _Conn(client, server)
            down = threading.Thread(
                target=self._pump, args=(conn, server, client, self.down, "bytes_down"), name=f"throttle-down-{n}", daemon=True
            )
            up = threading.Thread(
                target=self._pump, args=(conn, client, server, self.up, "bytes_up"), name=f"throttle-up-{n}", daemon=True
            )
            with self._lock:
                if self._closing.is_set():
                    client.close()
                    server.close()
                    return
                self._socks.update((client, server))
                self._threads.update((down, up))
            down.start()
            up.start()

    def _pump(self, conn: "_Conn", src: socket.socket, dst: socket.socket, bucket: TokenBucket | None, counter: str) -> None:
        try:
            while True:
                try:
                    data = src.recv(self.chunk_bytes)
                except OSError:
                    break
                if not data:
                    break
                if bucket is not None:
                    bucket.take(len(data))
                try:
                    dst.sendall(data)
                except OSError:
                    break
                with self._stats_lock:
                    setattr(self.stats, counter, getattr(self.stats, counter) + len(data))
                    if counter == "bytes_down":
                        now = time.monotonic()
                        if self.stats.first_down is None:
                            self.stats.first_down = now
                        self.stats.last_down = now
        finally:
            # Half-close: the peer sees EOF in this direction while the other pump carries
            # on until its own EOF. The second pump to finish closes both sockets.
            _shutdown(dst, socket.SHUT_WR)
            with self._lock:
                self._threads.discard(threading.current_thread())
                conn.open_pumps -= 1
                last = conn.open_pumps == 0
                if last:
                    self._socks.discard(conn.client)
                    self._socks.discard(conn.server)
            if last:
                conn.close()


@dataclass
class _Conn:
    client: socket.socket
    server: socket.socket
    open_pumps: int = 2

    def close(self) -> None:
        for s in (self.client, self.server):
            try:
                s.close()
            except OSError:
                pass


def _shutdown(s: socket.socket, how: int) -> None:
    try:
        s.shutdown(how)
    except OSError:
        pass


def throttled(upstream: tuple[str, int], bits_per_second: float | None, **kw) -> "Throttle | None":
    """A Throttle for a bandwidth, or None for the unshaped (loopback) profile."""
    if bits_per_second is None:
        return None
    return Throttle(upstream, bits_per_second, **kw)
