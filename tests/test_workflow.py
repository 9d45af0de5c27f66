"""The sharded-matrix workflow is valid GitHub Actions (checked by actionlint) and runs
what bench's own CLI accepts."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "matrix.yml"


def _actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(__import__("sys").executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.fail("actionlint is missing: `pip install -e '.[test]'` installs it")
    return found


def test_the_workflow_passes_actionlint():
    p = subprocess.run([_actionlint(), str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n")
    assert subprocess.run([_actionlint(), str(bad)], capture_output=True, timeout=60).returncode != 0


def test_every_shard_is_measured_and_merged():
    wf = yaml.safe_load(WORKFLOW.read_text())
    shards = wf["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(wf["env"]["SHARDS"]) + 1))
    steps = " ".join(s.get("run", "") for s in wf["jobs"]["shard"]["steps"])
    assert "--shard" in steps and "bench run" in steps
    merge = " ".join(s.get("run", "") for s in wf["jobs"]["merge"]["steps"])
    assert "bench merge" in merge and "bench report" in merge and wf["jobs"]["merge"]["needs"] == "shard"
