"""Faults that need no engine: a log line during the progress bar, `bench list` on a base
that cannot resolve (issue #18's defects; the engine faults are in test_faults.py)."""

import io
from types import SimpleNamespace
import json
import logging

import pytest
from rich.console import Console

from bench.cli import main

pytestmark = pytest.mark.fault


def test_a_log_line_goes_through_the_bar_console_not_into_the_bar():
    from bench.commands._progress import RichReporter

    root = logging.getLogger()
    before = root.handlers[:]
    rep = RichReporter(2)
    out = io.StringIO()
    rep.progress.live.console = Console(file=out, force_terminal=False, width=200)
    with rep:
        assert all(getattr(h, "console", None) is rep.progress.console for h in root.handlers)
        logging.getLogger("bench.test").warning("the registry is slow")
    assert root.handlers == before  # restored afterwards
    assert "bench.test: the registry is slow" in out.getvalue()


def test_list_says_a_base_that_cannot_resolve_does_not_run_here(tmp_path, capsys):
    app = tmp_path / "apps" / "demo"
    (app / "src").mkdir(parents=True)
    (app / "app.toml").write_text('name = "demo"\n')
    for name, base in (("odd", "example.invalid/nothing:1"), ("empty", "scratch")):
        v = app / "variants" / name
        v.mkdir(parents=True)
        (v / "Dockerfile").write_text(f"FROM {base}\nCOPY . /\n")
        (v / "variant.toml").write_text('techniques = ["x"]\n')
    assert main(["list", "--apps", str(tmp_path / "apps"), "--json"]) == 0
    rows = {r["variant"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["odd"]["runnable"] is False
    assert "example.invalid/nothing:1" in rows["odd"]["why_not"] and "bases.toml" in rows["odd"]["why_not"]
    assert rows["empty"]["runnable"] is True and rows["empty"]["why_not"] == ""



def _one_variant_apps(tmp_path, base: str):
    v = tmp_path / "apps" / "demo" / "variants" / "only"
    v.mkdir(parents=True)
    (tmp_path / "apps" / "demo" / "app.toml").write_text('name = "demo"\ncontext = "."\n')
    (v / "Dockerfile").write_text(f"FROM {base}\n")
    (v / "variant.toml").write_text("techniques = []\n")
    return tmp_path / "apps"


def test_list_table_prints_the_bases_hint_as_written_not_as_markup(tmp_path, capsys, monkeypatch):
    # rich read "[[alias]]" in the hint as markup and printed "([] ref = ..."
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["list", "--apps", str(_one_variant_apps(tmp_path, "example.invalid/nothing:1"))]) == 0
    assert '[[alias]] ref = "example.invalid/nothing:1"' in capsys.readouterr().out


def test_list_table_labels_a_standin_base(tmp_path, capsys, monkeypatch):
    # "[stand-in]" was read as a rich style tag and vanished from the bases column
    from bench.commands import list as list_verb

    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(list_verb, "_availability", lambda refs, mode, apps: {r: (True, "", True) for r in refs})
    assert main(["list", "--apps", str(_one_variant_apps(tmp_path, "python:slim"))]) == 0
    assert "python:slim [stand-in]" in capsys.readouterr().out


def test_list_says_a_standin_not_built_yet_runs_here(tmp_path, monkeypatch):
    # `bench run` builds a missing stand-in first: list said "no: not built yet" for fava
    from bench import bases
    from bench.commands import list as list_verb

    def not_built(refs, mode, build, catalogue):
        return {r: SimpleNamespace(available=False, reason=bases.NOT_BUILT_REASON, standin=True) for r in refs}

    monkeypatch.setattr(bases, "resolve", not_built)
    got = list_verb._availability({"python:slim"}, "local")
    assert got == {"python:slim": (True, "stand-in built by the first run that needs it", True)}


def test_a_failed_cells_reason_is_printed_as_written(capsys):
    # the end-of-run lines and the progress lines printed "([] ref = ..." for a bases hint
    from types import SimpleNamespace

    from bench.commands._progress import RichReporter
    from bench.commands._summary import print_summary

    hint = 'declare it ([[alias]] ref = "python:slim")'
    from bench.store import Cell

    cell = Cell("fava", "ledger", [], None, "", ["python:slim"], status="failed", reason=hint)
    rep = RichReporter(1)
    out = io.StringIO()
    rep.progress.live.console = Console(file=out, force_terminal=False, width=200)
    rep.cell_done(cell)
    assert hint in out.getvalue()
    import pandas as pd

    from bench.store import COLUMNS

    run = SimpleNamespace(run_id="R", metadata={}, cells={"fava/ledger": cell},
                          frame=lambda: pd.DataFrame(columns=list(COLUMNS)))
    print_summary(run)
    assert hint in capsys.readouterr().out.replace("\n", "")
