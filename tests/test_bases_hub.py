"""The hub path, as a user with Docker Hub runs it: `--bases hub` pulls each FROM ref by its
upstream name and pins the digest as provenance.

No registry is reachable here, so a loopback registry plays Docker Hub: it holds a stand-in
under the upstream name (`library/debian:bookworm-slim`) and a second, empty engine uses it as
its registry mirror. resolve() talks to that engine through the Docker seam and pulls
`debian:bookworm-slim` exactly as it would pull from Docker Hub.
"""

from __future__ import annotations

import pytest

from bench.bases import resolve
from bench.engine.coldpull import ColdEngine
from bench.engine.docker import Docker
from bench.engine.registry import LocalRegistry

pytestmark = pytest.mark.docker

REF = "debian:bookworm-slim"


@pytest.fixture
def hub():
    """A loopback registry holding the debian:bookworm-slim stand-in as library/debian:bookworm-slim."""
    main = Docker()
    standin = resolve([REF], "local", executor=main)[REF]
    assert standin.available, standin.reason
    with LocalRegistry() as reg:
        upstream_name = f"{reg.address}/library/{REF}"
        main.tag(standin.image, upstream_name)
        try:
            main.push(upstream_name)
        finally:
            main.rmi(upstream_name)
        yield reg, standin


def test_hub_mode_pulls_through_a_registry_mirror_and_pins_the_digest(hub):
    reg, standin = hub
    with ColdEngine(registry_mirrors=[reg.url]) as cold:
        engine = Docker(cold.client())
        assert engine.inspect_image(REF) is None  # the engine starts empty: nothing but the mirror has it

        r = resolve([REF], "hub", executor=engine)[REF]

        assert r.mode == "hub" and not r.standin and r.available
        # provenance: the digest the registry served, as `docker pull` records it
        assert r.image.startswith("debian@sha256:"), r.image
        info = engine.inspect_image(REF)
        assert info is not None and r.image in info["RepoDigests"]
        # what came through the mirror is the image that was pushed: the same layers
        pushed = Docker().inspect_image(standin.image)
        assert info["RootFS"]["Layers"] == pushed["RootFS"]["Layers"]
