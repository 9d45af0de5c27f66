"""push_and_pull and the cold engine's commands, with tests.fakes.FakeExecutor and fake
registry / cold engine / throttle objects: which commands run, in which order, and which
samples come out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.engine.coldpull import ColdEngine, dockerd_argv
from bench.engine.executor import Completed, DockerError
from bench.errors import UserError
from bench.measure.pushpull import push_and_pull, repository
from bench.settings import BANDWIDTHS as DEFAULT_PROFILES
from tests.fakes import FakeExecutor

IMAGE = "bench/go:scratch"
REG = "127.0.0.1:5999"


class TimedFakeExecutor(FakeExecutor):
    """A FakeExecutor whose commands 'take' a known time, so seconds can be followed."""

    def __init__(self, seconds: dict[str, float] | None = None, **kw):
        super().__init__(**kw)
        self.seconds = seconds or {}

    def run(self, argv, **kw):
        done = super().run(argv, **kw)
        for word, s in self.seconds.items():
            if word in argv:
                return replace(done, seconds=s)
        return done


class FakeRegistry:
    address = REG

    def __init__(self, sizes=(8_000_000,), log=None):
        self.sizes = list(sizes)
        self.log = log if log is not None else []

    def clear(self):
        self.log.append(("clear",))

    def compressed_bytes(self, repo, tag):
        self.log.append(("manifest", repo, tag))
        return self.sizes.pop(0) if len(self.sizes) > 1 else self.sizes[0]


class FakeCold:
    def __init__(self, log, seconds=2.5, fail_on=None):
        self.log = log
        self.seconds = seconds
        self.fail_on = fail_on
        self.have: set[str] = set()

    def wipe(self):
        self.log.append(("wipe",))
        self.have.clear()

    def pull(self, ref):
        self.log.append(("pull", ref))
        if self.fail_on and self.fail_on in ref:
            raise DockerError(Completed(("docker", "pull", ref), 1, "", "connection reset", 0.0))
        self.have.add(ref)
        return self.seconds

    def has_image(self, ref):
        return ref in self.have


class FakeThrottle:
    made: list = []

    def __init__(self, upstream, bps, log):
        self.upstream, self.bps, self.log = upstream, bps, log
        self.address = f"127.0.0.1:{7000 + int(bps // 1e6) % 1000}"
        self.closed = False
        FakeThrottle.made.append(self)

    def start(self):
        self.log.append(("throttle", self.upstream, self.bps))
        return self

    def close(self):
        self.closed = True

    def reset_stats(self):
        from bench.engine.throttle import ThrottleStats

        # a pull through this throttle: its bytes flowed for 1.5 s
        self.stats = ThrottleStats(first_down=10.0, last_down=11.5)


@pytest.fixture
def world():
    log: list = []
    ex = TimedFakeExecutor(seconds={"push": 4.25})
    ex.on("docker", "image", "inspect", stdout=json.dumps({"Id": "sha256:abc", "RepoTags": [IMAGE]}) + "\n")
    ex.on("docker", "tag")
    ex.on("docker", "push")
    ex.on("docker", "rmi")
    FakeThrottle.made = []
    factory = lambda upstream, bps: FakeThrottle(upstream, bps, log)  # noqa: E731
    return log, ex, factory


def by(samples, metric):
    return [s for s in samples if s.metric == metric]


def test_repository_names_are_registry_safe():
    assert repository("go", "scratch") == "bench/go-scratch"
    assert repository("Node", "multi stage+alpine") == "bench/node-multi-stage-alpine"
    with pytest.raises(UserError):
        repository("go", "+++")


def test_push_then_cold_pulls_per_profile_and_repetition(world):
    log, ex, factory = world
    reg, cold = FakeRegistry(log=log), FakeCold(log)
    samples = push_and_pull(IMAGE, app="go", variant="scratch", registry=reg, cold_engine=cold,
                            repetitions=2, executor=ex, throttle_factory=factory)

    ref0, ref1 = f"{REG}/bench/go-scratch:r0", f"{REG}/bench/go-scratch:r1"
    tags = [c for c in ex.calls if c[:2] == ("docker", "tag")]
    assert tags == [("docker", "tag", IMAGE, ref0), ("docker", "tag", IMAGE, ref1)]
    pushes = [c for c in ex.calls if c[:2] == ("docker", "push")]
    assert pushes == [("docker", "push", "--quiet", ref0), ("docker", "push", "--quiet", ref1)]

    # push: one per repetition, with the push command's own wall time
    push = by(samples, "push_seconds")
    assert [(s.scenario, s.repetition, s.value, s.unit) for s in push] == [("push", 0, 4.25, "s"), ("push", 1, 4.25, "s")]
    (cb,) = by(samples, "compressed_bytes")
    assert (cb.scenario, cb.value, cb.unit) == ("image", 8_000_000, "B")

    pulls = by(samples, "pull_seconds")
    assert sorted((s.profile, s.repetition) for s in pulls) == sorted(
        (p, r) for p in DEFAULT_PROFILES for r in (0, 1)
    )
    assert all(s.scenario == "pull" and s.value == 2.5 and s.unit == "s" for s in pulls)
    model = {s.profile: s.value for s in by(samples, "pull_model_seconds")}
    assert model == {"1gbit": pytest.approx(8_000_000 * 8 / 1e9), "150mbit": pytest.approx(8_000_000 * 8 / 150e6)}
    assert all(s.app == "go" and s.variant == "scratch" for s in samples)
    wire = by(samples, "pull_wire_seconds")
    assert sorted((s.profile, s.repetition, s.value) for s in wire) == [
        ("150mbit", 0, 1.5), ("150mbit", 1, 1.5), ("1gbit", 0, 1.5), ("1gbit", 1, 1.5)]


def test_pull_profiles_rotate_and_warmups_come_first_flagged(world):
    log, ex, factory = world
    reg, cold = FakeRegistry(log=log), FakeCold(log)
    samples = push_and_pull(IMAGE, app="go", variant="scratch", registry=reg, cold_engine=cold,
                            repetitions=2, warmup=1, executor=ex, throttle_factory=factory)
    pulls = by(samples, "pull_seconds")
    firsts = [pulls[i].profile for i in (0, 3, 6)]
    assert firsts == ["loopback", "1gbit", "150mbit"]  # no profile always pulls first
    assert [s.warmup for s in pulls] == [True] * 3 + [False] * 6
    assert [s.warmup for s in by(samples, "push_seconds")] == [True, False, False]
    assert not by(samples, "compressed_bytes")[0].warmup  # a size is a size


def test_every_pull_is_cold_and_every_push_is_a_first_push(world):
    log, ex, factory = world
    reg, cold = FakeRegistry(log=log), FakeCold(log)
    push_and_pull(IMAGE, app="go", variant="scratch", registry=reg, cold_engine=cold,
                  repetitions=2, executor=ex, throttle_factory=factory)
    events = [e[0] for e in log if e[0] in ("clear", "wipe", "pull")]
    # clear before each repetition's push; a wipe right before every pull; a final wipe
    assert events == ["clear"] + ["wipe", "pull"] * 3 + ["clear"] + ["wipe", "pull"] * 3 + ["wipe"]


def test_bandwidth_profiles_pull_through_their_throttle(world):
    log, ex, factory = world
    reg, cold = FakeRegistry(log=log), FakeCold(log)
    push_and_pull(IMAGE, app="go", variant="scratch", registry=reg, cold_engine=cold,
                  profiles={"loopback": None, "20mbit": 20e6}, executor=ex, throttle_factory=factory)
    (t,) = FakeThrottle.made
    assert t.upstream == ("127.0.0.1", 5999) and t.bps == 20e6
    pulled = [e[1] for e in log if e[0] == "pull"]
    assert pulled == [f"{REG}/bench/go-scratch:r0", f"{t.address}/bench/go-scratch:r0"]
    assert t.closed


def test_own_registry_tags_are_removed_but_never_the_image(world):
    log, ex, factory = world
    push_and_pull(IMAGE, app="go", variant="scratch", registry=FakeRegistry(log=log), cold_engine=FakeCold(log),
                  repetitions=2, executor=ex, throttle_factory=factory)
    removed = [c for c in ex.calls if c[:2] == ("docker", "rmi")]
    assert removed == [("docker", "rmi", f"{REG}/bench/go-scratch:r0"),
                       ("docker", "rmi", f"{REG}/bench/go-scratch:r1")]
    assert not [c for c in ex.calls if IMAGE in c and c[:2] != ("docker", "tag")
                and c[:3] != ("docker", "image", "inspect")]


def test_an_untagged_image_keeps_one_tag_so_it_is_not_deleted(world):
    log, ex, factory = world
    ex.on("docker", "image", "inspect", stdout=json.dumps({"Id": "sha256:abc", "RepoTags": []}) + "\n")
    push_and_pull("sha256:abc", app="go", variant="scratch", registry=FakeRegistry(log=log),
                  cold_engine=FakeCold(log), repetitions=2, executor=ex, throttle_factory=factory)
    removed = [c[-1] for c in ex.calls if c[:2] == ("docker", "rmi")]
    assert removed == [f"{REG}/bench/go-scratch:r0"]


def test_a_failed_pull_still_cleans_up(world):
    log, ex, factory = world
    cold = FakeCold(log, fail_on=":7150/")  # the 150mbit throttle's address
    with pytest.raises(DockerError):
        push_and_pull(IMAGE, app="go", variant="scratch", registry=FakeRegistry(log=log), cold_engine=cold,
                      executor=ex, throttle_factory=factory)
    assert all(t.closed for t in FakeThrottle.made) and len(FakeThrottle.made) == 2
    assert [c for c in ex.calls if c[:2] == ("docker", "rmi")]


def test_missing_image_and_bad_arguments_are_user_errors(world):
    log, ex, factory = world
    ex.on("docker", "image", "inspect", rc=1, stderr="No such image")
    kw = dict(app="go", variant="scratch", registry=FakeRegistry(log=log), cold_engine=FakeCold(log),
              executor=ex, throttle_factory=factory)
    with pytest.raises(UserError, match="build it first"):
        push_and_pull("bench/go:nope", **kw)
    with pytest.raises(UserError, match="repetitions"):
        push_and_pull(IMAGE, **{**kw, "repetitions": 0})
    with pytest.raises(UserError, match="positive"):
        push_and_pull(IMAGE, **{**kw, "profiles": {"bad": 0}})
    assert not [c for c in ex.calls if c[:2] in (("docker", "tag"), ("docker", "push"))]


# -- the cold engine's commands -----------------------------------------------------------------
def test_dockerd_argv_isolates_everything_under_its_root(tmp_path):
    argv = dockerd_argv(tmp_path, name="bench-cold-x", bridge="bcoldx", containerd="/run/containerd/containerd.sock")
    joined = " ".join(argv)
    def value(flag):
        return argv[argv.index(flag) + 1]
    for flag in ("--data-root", "--exec-root", "--pidfile", "--config-file"):
        assert Path(value(flag)).parent == tmp_path, flag
    assert value("-H") == f"unix://{tmp_path}/docker.sock"
    assert value("--containerd-namespace") == "bench-cold-x"
    assert value("--containerd-plugins-namespace") == "bench-cold-x-plugins"
    assert value("--containerd") == "/run/containerd/containerd.sock"
    for flag in ("--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"):
        assert flag in argv
    # --bridge=none would delete the host's docker0: the cold engine has a bridge of its own
    assert value("--bridge") == "bcoldx" and "--bridge=none" not in argv and "docker0" not in joined
    assert "/etc/docker" not in joined and "/var/lib/docker" not in joined


@pytest.mark.parametrize("bridge", ["none", "docker0", ""])
def test_dockerd_argv_refuses_the_shared_bridge_or_none(tmp_path, bridge):
    with pytest.raises(ValueError):
        dockerd_argv(tmp_path, name="bench-cold-x", bridge=bridge)


def _cold(tmp_path, ex) -> ColdEngine:
    cold = ColdEngine(executor=ex, containerd="")
    cold.root = tmp_path  # not started: only its commands are under test
    return cold


def test_pull_times_the_pull_command_on_the_cold_socket(tmp_path):
    ex = TimedFakeExecutor(seconds={"pull": 3.5}).on("docker", "-H")
    cold = _cold(tmp_path, ex)
    assert cold.pull("127.0.0.1:5999/bench/go-scratch:r0") == 3.5
    assert ex.calls == [("docker", "-H", f"unix://{tmp_path}/docker.sock", "pull", "--quiet",
                         "127.0.0.1:5999/bench/go-scratch:r0")]


def test_wipe_removes_every_image_in_the_cold_engine(tmp_path):
    state = {"images": ["sha256:aaa", "sha256:bbb"]}

    def images(argv):
        return 0, "".join(i + "\n" for i in state["images"]), ""

    def rmi(argv):
        state["images"] = []
        return 0, "", ""

    ex = FakeExecutor()
    host = f"unix://{tmp_path}/docker.sock"
    ex.responses[("docker", "-H", host, "images")] = images
    ex.responses[("docker", "-H", host, "rmi")] = rmi
    cold = _cold(tmp_path, ex)
    cold.wipe()
    assert ("docker", "-H", host, "rmi", "--force", "sha256:aaa", "sha256:bbb") in ex.calls
    assert state["images"] == []
    n = len(ex.calls)
    cold.wipe()  # nothing left: no rmi
    assert not [c for c in ex.calls[n:] if "rmi" in c]


def test_wipe_fails_loudly_when_images_survive(tmp_path):
    ex = FakeExecutor()
    host = f"unix://{tmp_path}/docker.sock"
    ex.on("docker", "-H", host, "images", stdout="sha256:aaa\n")
    ex.on("docker", "-H", host, "rmi")
    with pytest.raises(DockerError, match="left after wipe"):
        _cold(tmp_path, ex).wipe()


def test_cold_engine_refuses_without_dockerd(tmp_path):
    with pytest.raises(UserError, match="bootstrap-engine"):
        ColdEngine(dockerd="no-such-dockerd-binary", work_dir=tmp_path).__enter__()
    assert not list(tmp_path.glob("cold-*"))


def test_cold_roots_give_valid_containerd_namespaces(tmp_path):
    import re

    from bench.engine.coldpull import _new_root

    pattern = re.compile(r"^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$")  # containerd's identifier rule
    seen = set()
    for _ in range(50):
        root, token = _new_root(tmp_path)
        assert root.parent == tmp_path and root.is_dir() and root.name == f"cold-{token}"
        assert pattern.match(f"bench-cold-{token}") and pattern.match(f"bench-cold-{token}-plugins")
        seen.add(root)
    assert len(seen) == 50
