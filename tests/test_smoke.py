"""The smoke check against a tiny real HTTP server on 127.0.0.1: the engine is a
FakeExecutor whose `docker port` points at that server, so no container runs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.apps import SmokeRequest
from bench.measure.smoke import smoke
from tests.fakes import FakeExecutor

# path -> (status, content type, body); the go sample's answers, as a scratch image gives them
ROUTES = {
    "/healthz": (200, "text/plain; charset=utf-8", "ok"),
    "/": (200, "application/json", json.dumps({"app": "go", "version": "1.4.2"})),
    "/time?tz=Europe/Berlin": (400, "application/json", json.dumps({"error": "unknown time zone"})),
    "/text": (200, "text/html", "<html>hello</html>"),
}


class _Handler(BaseHTTPRequestHandler):
    routes: dict = ROUTES

    def do_GET(self):
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.send_response(405)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _engine(port: int) -> FakeExecutor:
    return (FakeExecutor().on("docker", "run", stdout="cid\n").on("docker", "port", stdout=f"127.0.0.1:{port}\n")
            .on("docker", "inspect", stdout="true\n").on("docker", "rm"))


def _smoke(port, contract=(), health="/healthz", timeout=5.0):
    return smoke(_engine(port), "img", port=8080, health_path=health, user=None, name="c",
                 contract=contract, timeout=timeout)


def test_default_contract_is_a_2xx_on_health_without_json(server):
    res = _smoke(server, health="/text")  # answers HTML, and / is not consulted
    assert res.ok and res.reason == "" and res.seconds is not None


def test_health_path_that_never_answers_2xx_fails_naming_it(server):
    res = _smoke(server, health="/missing", timeout=0.5)
    assert not res.ok and res.seconds is None
    assert "GET /missing" in res.reason and "404" in res.reason


def test_full_contract_passes(server):
    contract = (
        SmokeRequest("/healthz", content_type="text/plain", body_contains="ok"),
        SmokeRequest("/", content_type="application/json", json_keys=("app", "version"), body_contains="1.4.2"),
        SmokeRequest("/", method="POST", status=405),
    )
    res = _smoke(server, contract)
    assert res.ok, res.reason


@pytest.mark.parametrize("req, expected", [
    (SmokeRequest("/time?tz=Europe/Berlin", body_contains="Europe/Berlin"),
     "GET /time?tz=Europe/Berlin answered 400, expected 200"),
    (SmokeRequest("/", content_type="text/plain"), "GET / answered 200 with Content-Type 'application/json'"),
    (SmokeRequest("/", body_contains="2.0.0"), "GET / answered 200 without '2.0.0' in its body"),
    (SmokeRequest("/", json_keys=("app", "zone")), "lacking zone"),
    (SmokeRequest("/text", json_keys=("app",)), "GET /text answered 200 without a JSON object"),
    (SmokeRequest("/", method="POST", status=200), "POST / answered 405, expected 200"),
])
def test_a_failed_request_fails_smoke_naming_it_and_the_answer(server, req, expected):
    res = _smoke(server, (SmokeRequest("/healthz"), req))
    assert not res.ok
    assert expected in res.reason, res.reason
    assert res.seconds is not None  # the health check passed and was timed


def test_only_the_first_failure_is_reported(server):
    res = _smoke(server, (SmokeRequest("/nope"), SmokeRequest("/time?tz=Europe/Berlin")))
    assert res.reason.startswith("GET /nope answered 404")


def test_a_container_whose_start_failed_is_removed():
    ex = FakeExecutor().on("docker", "run", rc=125, stderr="OCI runtime create failed: exec format error").on("docker", "rm")
    res = smoke(ex, "bench/x:y", port=8080, health_path="/healthz", user=None, name="bench-smoke-x-y-1")
    assert not res.ok and "container did not start" in res.reason and "exec format error" in res.reason
    assert ("docker", "rm", "-f", "-v", "bench-smoke-x-y-1") in ex.calls  # `run -d` may have created it


def test_the_port_is_published_on_the_engine_hosts_address_only(server):
    ex = _engine(server)
    smoke(ex, "bench/x:y", port=8080, health_path="/healthz", user=None, name="n", address="127.0.0.1")
    (run,) = [c for c in ex.calls if c[:2] == ("docker", "run")]
    assert run[run.index("-p") + 1] == "127.0.0.1::8080"
