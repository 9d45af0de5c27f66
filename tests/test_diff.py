"""bench diff: synthetic `docker save` archives with known differences (no engine), and two
tiny images built FROM scratch on the engine (`docker` marker)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import uuid

import pytest

from bench import LABEL
from bench.analyze.diff import ADDED, GROWN, REMOVED, diff_archives, final_files, top_changes
from bench.analyze.layers import open_archive, read_archive
from bench.cli import main
from tests.test_analyze_dive import BB, _busybox  # a static busybox, or a loud skip
from tests.test_analyze_support import image_archive, layer_tar

BASE = layer_tar([("d", "usr"), ("d", "usr/lib"), ("f", "usr/lib/big", 5000), ("d", "etc"), ("f", "etc/conf", 100),
                  ("d", "opt"), ("d", "opt/data"), ("f", "opt/data/x", 300), ("l", "usr/lib/link", "big")])
A_LAYERS = [BASE, layer_tar([("d", "app"), ("f", "app/main", 1000)])]
B_LAYERS = [
    BASE,
    layer_tar([("d", "app"), ("f", "app/main", 1500), ("f", "app/new", 700)]),
    layer_tar([("w", "etc/conf"), ("o", "opt/data"), ("f", "opt/data/y", 50)]),
    layer_tar([("d", "tmp"), ("f", "tmp/cache", 2000)]),
    layer_tar([("w", "tmp")]),  # added then deleted: not in the final filesystem
]
B_HISTORY = [{"created_by": "COPY base /"}, {"created_by": "COPY app /app"},
             {"created_by": "RUN rm /etc/conf && rm -rf /opt/data/*"}, {"created_by": "RUN fetch > /tmp/cache"},
             {"created_by": "RUN rm -rf /tmp"}]


def _arch(layers, **kw):
    return read_archive(io.BytesIO(image_archive(layers, **kw)))


@pytest.fixture(scope="module")
def pair():
    return _arch(A_LAYERS), _arch(B_LAYERS, history=B_HISTORY)


def test_final_filesystem_applies_whiteouts_and_opaque_dirs(pair):
    _, b = pair
    assert final_files(b) == {"/usr/lib/big": 5000, "/usr/lib/link": 0, "/app/main": 1500, "/app/new": 700,
                              "/opt/data/y": 50}


def test_file_changes_biggest_first(pair):
    d = diff_archives(*pair)
    got = [(c.path, c.kind, c.delta) for c in d.changes]
    assert got == [("/app/new", ADDED, 700), ("/app/main", GROWN, 500), ("/opt/data/x", REMOVED, -300),
                   ("/etc/conf", REMOVED, -100), ("/opt/data/y", ADDED, 50)]
    assert (d.files_bytes_a, d.files_bytes_b, d.delta) == (6400, 7250, 850)


def test_layers_side_by_side(pair):
    d = diff_archives(*pair)
    assert [x.size_bytes for x in d.layers_a] == [5400, 1000]
    assert [x.size_bytes for x in d.layers_b] == [5400, 2200, 50, 2000, 0]
    assert [x.shared for x in d.layers_b] == [True, False, False, False, False]
    assert d.layers_a[0].shared and not d.layers_a[1].shared
    assert d.layers_b[3].instruction == "RUN fetch > /tmp/cache"


def test_top_changes_for_the_report(pair):
    t = top_changes(*pair, n=2)
    assert [c.path for c in t["removed"]] == ["/opt/data/x", "/etc/conf"]
    assert [c.path for c in t["added"]] == ["/app/new", "/app/main"]


def test_a_file_replaced_by_a_directory_and_back():
    a = _arch([layer_tar([("f", "x", 10), ("d", "y"), ("f", "y/z", 5)])])
    b = _arch([layer_tar([("f", "x", 10), ("d", "y"), ("f", "y/z", 5)]),
               layer_tar([("w", "x"), ("d", "x"), ("f", "x/inner", 3), ("w", "y"), ("f", "y", 8)])])
    assert final_files(b) == {"/x/inner": 3, "/y": 8}
    kinds = {c.path: c.kind for c in diff_archives(a, b).changes}
    assert kinds == {"/x": REMOVED, "/x/inner": ADDED, "/y/z": REMOVED, "/y": ADDED}


def test_verb_on_archive_files(tmp_path, capsys):
    fa, fb = tmp_path / "a.tar", tmp_path / "b.tar"
    fa.write_bytes(image_archive(A_LAYERS))
    fb.write_bytes(image_archive(B_LAYERS, history=B_HISTORY))
    assert main(["diff", str(fa), str(fb), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "B - A: +850 B (+13.28%)" in out
    assert "+700 B  /app/new" in out and "+500 B  /app/main" in out and "/opt/data/x" not in out
    assert "3 more changed paths" in out
    assert main(["diff", str(fa), str(fb), "--format", "json", "--top", "10"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["delta"] == 850 and doc["changed_paths"] == 5
    assert doc["top"][2] == {"path": "/opt/data/x", "kind": "removed", "bytes_a": 300, "bytes_b": 0, "delta": -300}
    assert [x["shared"] for x in doc["layers_b"]] == [True, False, False, False, False]


def test_verb_damaged_archive_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 64)
    assert main(["diff", str(bad), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error:") and "\n" not in err


# ---------------------------------------------------------------------------------------------
# On the engine: two tiny images FROM scratch
# ---------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_diff_two_built_images(tmp_path, capsys):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy2(_busybox(), ctx / "busybox")
    (ctx / "keep.txt").write_text("kept\n")
    bodies = {
        "a": "COPY keep.txt /keep.txt\nCOPY busybox /busybox\n",
        "b": ("COPY keep.txt /keep.txt\n"
              f'RUN {BB} ["/bin/busybox", "sh", "-c", "/bin/busybox head -c 40000 /dev/zero > /big"]\n'),
    }
    tags = {}
    try:
        for k, body in bodies.items():
            (ctx / f"{k}.Dockerfile").write_text(f"FROM scratch\n{body}LABEL {LABEL}=true\n")
            tag = tags[k] = f"bench-test/diff-{uuid.uuid4().hex[:10]}:{k}"
            p = subprocess.run(["docker", "buildx", "build", "--load", "-q", "-t", tag, "-f", str(ctx / f"{k}.Dockerfile"),
                                str(ctx)], capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, p.stderr[-2000:]
        d = diff_archives(open_archive(tags["a"]), open_archive(tags["b"]), tags["a"], tags["b"])
        bb = os.path.getsize(_busybox())
        got = {c.path: (c.kind, c.delta) for c in d.changes}
        assert got == {"/big": (ADDED, 40000), "/busybox": (REMOVED, -bb)}
        assert d.layers_a[0].shared and d.layers_b[0].shared  # the same COPY of keep.txt
        assert "RUN" in d.layers_b[1].instruction
        assert main(["diff", tags["a"], tags["b"]]) == 0
        assert "+40,000 B  /big" in capsys.readouterr().out
    finally:
        for tag in tags.values():
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
