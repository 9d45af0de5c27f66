"""The throttle's accounting, on a virtual clock: time advances only when the bucket makes
a caller wait, so the assertions are about bytes and booked time, never wall time."""

from __future__ import annotations

import hashlib
import socket
import threading

import pytest

from bench.engine.throttle import Clock, Throttle, TokenBucket, throttled
from bench.errors import UserError


class VirtualClock(Clock):
    """Sleeping until a deadline moves the clock there (never backwards)."""

    def __init__(self):
        self.t = 0.0
        self.lock = threading.Lock()
        self.sleeps = 0

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep_until(self, deadline: float) -> None:
        with self.lock:
            if deadline > self.t:
                self.sleeps += 1
                self.t = deadline


# -- the bucket ---------------------------------------------------------------------------------
def test_bucket_books_time_for_bytes_beyond_the_burst():
    clock = VirtualClock()
    bucket = TokenBucket(1000.0, burst_bytes=500, clock=clock)
    for _ in range(10):
        bucket.take(250)  # 2500 bytes, 500 of them free
    assert bucket.taken == 2500
    assert clock.t == pytest.approx(2.0)


def test_bucket_within_burst_does_not_wait():
    clock = VirtualClock()
    bucket = TokenBucket(1000.0, burst_bytes=500, clock=clock)
    bucket.take(500)
    assert clock.t == 0.0 and clock.sleeps == 0


def test_bucket_refills_with_time_but_never_beyond_the_burst():
    clock = VirtualClock()
    bucket = TokenBucket(1000.0, burst_bytes=500, clock=clock)
    bucket.take(500)
    clock.t = 100.0  # idle for long: at most one burst is saved up
    bucket.take(1500)
    assert clock.t == pytest.approx(101.0)


def test_bucket_is_one_budget_for_all_threads():
    clock = VirtualClock()
    rate, burst = 1_000_000.0, 64 * 1024
    bucket = TokenBucket(rate, burst_bytes=burst, clock=clock)
    per_thread, chunk, threads = 2_000_000, 16 * 1024, 4

    def worker():
        left = per_thread
        while left > 0:
            n = min(chunk, left)
            bucket.take(n)
            left -= n

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=30)
    total = per_thread * threads
    assert bucket.taken == total
    # One shared budget: four streams take four times as long as one, not the same.
    assert clock.t == pytest.approx((total - burst) / rate, rel=1e-9)


def test_a_late_caller_catches_up_but_an_idle_link_restarts_at_the_burst():
    clock = VirtualClock()
    bucket = TokenBucket(1000.0, burst_bytes=100, clock=clock, catchup_seconds=0.5)
    bucket.take(100)  # due at once; the link is busy until t=0
    clock.t = 0.3  # the caller was 0.3 s late: that allowance is kept
    assert bucket.reserve(400) == pytest.approx(0.4)
    lazy = TokenBucket(1000.0, burst_bytes=100, clock=VirtualClock())  # no catch-up: time is lost
    lazy.take(100)
    lazy.clock.t = 0.3
    assert lazy.reserve(400) == pytest.approx(0.6)
    clock.t = 5.0  # idle for longer than the catch-up window: a fresh start
    assert bucket.reserve(400) == pytest.approx(5.3)


def test_no_pattern_of_calls_beats_the_rate_by_more_than_one_burst():
    import random

    rnd = random.Random(7)
    clock = VirtualClock()
    rate, burst = 10_000.0, 1_000.0
    bucket = TokenBucket(rate, burst_bytes=burst, clock=clock, catchup_seconds=0.2)
    for _ in range(2000):
        if rnd.random() < 0.3:
            clock.t += rnd.choice([0.001, 0.05, 0.19, 0.21, 1.0])  # late, idle, anything
        due = bucket.reserve(rnd.randint(1, 3000))
        # everything granted so far is paid for by the time it is due
        assert bucket.taken <= burst + rate * due + 1e-6
        if rnd.random() < 0.5:  # else another caller books before this one is due
            clock.sleep_until(due)


@pytest.mark.parametrize("rate,burst", [(0, 10), (-1, 10), (10, 0)])
def test_bucket_refuses_nonsense(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


# -- the proxy ----------------------------------------------------------------------------------
class BulkServer:
    """On 127.0.0.1: reads a decimal byte count terminated by newline, sends that many
    pseudo-random bytes, closes. With `echo=True` it echoes instead."""

    def __init__(self, echo: bool = False):
        self.echo = echo
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sent_digests: list[str] = []
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c: socket.socket):
        with c:
            if self.echo:
                while data := c.recv(65536):
                    c.sendall(data)
                return
            line = b""
            while not line.endswith(b"\n"):
                part = c.recv(64)
                if not part:
                    return
                line += part
            n = int(line)
            h = hashlib.sha256()
            block = hashlib.sha512(line).digest() * 1024  # 64 KiB, differs per request
            left = n
            while left > 0:
                data = block[: min(left, len(block))]
                c.sendall(data)
                h.update(data)
                left -= len(data)
            self.sent_digests.append(h.hexdigest())

    def close(self):
        self.sock.close()


def fetch(address: str, n: int, tag: int = 0) -> tuple[int, str]:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"{n:0{8 + tag}d}\n".encode())  # tag varies the request, so the payload
        h = hashlib.sha256()
        got = 0
        while data := s.recv(1 << 20):
            h.update(data)
            got += len(data)
    return got, h.hexdigest()


@pytest.fixture
def bulk():
    s = BulkServer()
    yield s
    s.close()


def test_proxy_carries_every_byte_intact_and_counts_them(bulk):
    clock = VirtualClock()
    with Throttle(("127.0.0.1", bulk.port), 80e6, clock=clock) as t:
        got, digest = fetch(t.address, 3_000_000)
    assert got == 3_000_000
    assert digest in bulk.sent_digests
    assert t.stats.connections == 1
    assert t.stats.bytes_down == 3_000_000
    assert t.down.taken == 3_000_000
    assert t.stats.bytes_up == len(f"{3_000_000:08d}\n")
    assert t.up is None  # upstream not shaped by default


def test_the_wire_span_covers_the_bytes_sent_and_resets_between_pulls(bulk):
    import time

    with Throttle(("127.0.0.1", bulk.port), 400e6) as t:
        assert t.stats.wire_seconds is None  # nothing has flowed yet
        before = time.monotonic()
        fetch(t.address, 2_000_000)
        after = time.monotonic()
        span = t.stats.wire_seconds
        assert span is not None and 0 <= span <= after - before
        assert before <= t.stats.first_down <= t.stats.last_down <= after
        t.reset_stats()
        assert t.stats.wire_seconds is None and t.stats.bytes_down == 0


def test_proxy_shapes_the_total_of_parallel_connections(bulk):
    """Docker pulls layers in parallel; the limit is for the sum, like a shared link."""
    clock = VirtualClock()
    bps = 40e6
    per_conn, conns = 2_000_000, 3
    results: list[tuple[int, str]] = []
    with Throttle(("127.0.0.1", bulk.port), bps, clock=clock) as t:
        ts = [threading.Thread(target=lambda i=i: results.append(fetch(t.address, per_conn, i))) for i in range(conns)]
        for th in ts:
            th.start()
        for th in ts:
            th.join(timeout=60)
    assert sorted(g for g, _ in results) == [per_conn] * conns
    assert {d for _, d in results} <= set(bulk.sent_digests)
    assert t.stats.connections == conns
    total = per_conn * conns
    assert t.stats.bytes_down == total
    # The bucket booked the link time of all bytes together, minus one burst.
    assert clock.t == pytest.approx((total - t.down.burst) / (bps / 8), rel=1e-6)


def test_proxy_can_shape_the_upstream_direction_too():
    echo = BulkServer(echo=True)
    clock = VirtualClock()
    payload = bytes(range(256)) * 4000  # 1 MB
    try:
        with Throttle(("127.0.0.1", echo.port), 8e6, shape_upstream=True, burst_bytes=4096, clock=clock) as t:
            host, port = t.address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=30) as s:
                sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
                sender.start()
                back = b""
                while data := s.recv(1 << 20):
                    back += data
                sender.join(timeout=30)
    finally:
        echo.close()
    assert back == payload
    assert t.stats.bytes_up == len(payload) and t.stats.bytes_down == len(payload)
    assert t.up is not None and t.up.taken == len(payload)
    # Two buckets at 1 MB/s each, on one clock: each direction books about 1 s, and they overlap.
    assert clock.t >= (len(payload) - 4096) / 1e6


def test_close_ends_open_connections_and_threads():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        t = Throttle(("127.0.0.1", silent.getsockname()[1]), 1e6).start()
        host, port = t.address.rsplit(":", 1)
        c = socket.create_connection((host, int(port)), timeout=10)
        c.sendall(b"hello")
        for _ in range(500):  # bounded: until the proxy has accepted and connected upstream
            if t.stats.connections:
                break
            threading.Event().wait(0.01)
        assert t.stats.connections == 1
        t.close()
        c.settimeout(10)
        try:
            assert c.recv(10) == b""  # the proxy hung up
        except ConnectionResetError:
            pass  # also a hang-up
        c.close()
        alive = [th for th in threading.enumerate() if th.name.startswith(f"throttle-") and th.is_alive()]
        assert not [th for th in alive if th.name.endswith(str(t.port))]
        assert not t._threads
    finally:
        silent.close()


def test_refused_upstream_hangs_up_on_the_client():
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    with Throttle(("127.0.0.1", port), 1e6) as t:
        host, p = t.address.rsplit(":", 1)
        with socket.create_connection((host, int(p)), timeout=10) as c:
            c.settimeout(10)
            assert c.recv(10) == b""
    assert t.stats.connections == 0


def test_no_bandwidth_means_no_throttle():
    assert throttled(("127.0.0.1", 1), None) is None
    assert isinstance(throttled(("127.0.0.1", 1), 1e6), Throttle)
    with pytest.raises(UserError, match="loopback"):
        Throttle(("127.0.0.1", 1), None)  # type: ignore[arg-type]
    with pytest.raises(UserError):
        Throttle(("127.0.0.1", 1), 0)


def test_address_before_start_is_an_error():
    with pytest.raises(RuntimeError):
        Throttle(("127.0.0.1", 1), 1e6).address
