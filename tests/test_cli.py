import subprocess
import sys

import pytest

from bench.cli import main


def test_engine_down_is_one_line_and_nonzero(tmp_path):
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    for verb in (["doctor"], ["run", "--only", "go"]):
        p = subprocess.run([sys.executable, "-m", "bench", *verb], capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 1, p.stderr
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("bench: error: no Docker engine answers"), p.stderr
        assert "Traceback" not in p.stderr + p.stdout


def test_unknown_app_is_a_user_error(capsys):
    assert main(["list", "--only", "cobol"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bench: error: --only cobol: no app 'cobol'")


def test_no_verb_prints_help(capsys):
    assert main([]) == 2
    assert "doctor" in capsys.readouterr().out


def test_bases_scratch_is_the_empty_base_not_an_unknown_ref(capsys):
    assert main(["bases", "--only", "scratch", "--bases", "local"]) == 0
    err = capsys.readouterr().err
    assert "scratch: the empty base" in err and "no base family" not in err
