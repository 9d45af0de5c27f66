from pathlib import Path

from bench.engine.buildx import build_argv, context_bytes, parse_rawjson, read_dockerignore, ignored

FIX = Path(__file__).parent / "fixtures" / "rawjson"


def test_cold_build_steps_and_timings_from_recorded_rawjson():
    p = parse_rawjson((FIX / "cold_scratch.rawjson").read_text())
    names = [s.name for s in p.dockerfile_steps]
    assert names == ["[2/2] COPY a.txt /b.txt", "[1/2] COPY a.txt /a.txt"] or sorted(names) == [
        "[1/2] COPY a.txt /a.txt", "[2/2] COPY a.txt /b.txt"]
    assert p.steps_total == 2
    assert p.steps_cached == 0
    assert all(s.seconds > 0 for s in p.dockerfile_steps)
    assert p.context_transferred_bytes > 0
    assert not p.errors


def test_warm_build_reports_every_step_cached():
    p = parse_rawjson((FIX / "warm_scratch.rawjson").read_text())
    assert p.steps_total == 2
    assert p.steps_cached == 2


def test_stage_and_index_are_parsed_from_multistage_names():
    text = '{"vertexes":[{"digest":"a","name":"[builder 3/5] RUN go build","started":"2026-01-01T00:00:00.5Z","completed":"2026-01-01T00:00:02.25Z"}]}'
    (s,) = parse_rawjson(text).steps
    assert s.stage == "builder" and s.index == 3
    assert abs(s.seconds - 1.75) < 1e-6


def test_errors_are_collected_and_garbage_lines_skipped():
    text = 'WARNING: something\n{"vertexes":[{"digest":"b","name":"[2/2] RUN false","error":"process did not complete successfully: exit code: 1"}]}\n'
    p = parse_rawjson(text)
    assert p.errors == ("[2/2] RUN false: process did not complete successfully: exit code: 1",)


def test_build_argv_carries_label_metadata_file_and_named_contexts(tmp_path):
    argv = build_argv(context=tmp_path, dockerfile=tmp_path / "Dockerfile", tag="bench/go:scratch",
                      metadata_file=tmp_path / "m.json", no_cache=True,
                      build_contexts=["--build-context", "golang:1.22=docker-image://x:1"])
    assert argv[:4] == ["docker", "buildx", "build", "--progress=rawjson"]
    assert "--no-cache" in argv and "--load" in argv
    assert argv[argv.index("--label") + 1] == "org.bench.managed=true"
    assert argv[argv.index("--build-context") + 1] == "golang:1.22=docker-image://x:1"
    assert argv[-1] == str(tmp_path)


def test_dockerignore_rules_and_exceptions(tmp_path):
    ign = tmp_path / "ignore"
    ign.write_text("# comment\nnode_modules\n*.md\n!README.md\ndocs/\n**/*.pyc\n")
    rules = read_dockerignore(ign)
    assert ignored("node_modules/x/y.js", rules)
    assert ignored("CHANGELOG.md", rules)
    assert not ignored("README.md", rules)
    assert ignored("docs/a.txt", rules)
    assert ignored("pkg/sub/m.pyc", rules)
    assert not ignored("src/app.ts", rules)


def test_context_bytes_drops_ignored_files(tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "node_modules").mkdir(parents=True)
    (ctx / "node_modules" / "big.js").write_bytes(b"x" * 1000)
    (ctx / "app.js").write_bytes(b"y" * 10)
    ign = tmp_path / "Dockerfile.dockerignore"
    ign.write_text("node_modules\n")
    assert context_bytes(ctx) == (1010, 2)
    assert context_bytes(ctx, ign) == (10, 1)
