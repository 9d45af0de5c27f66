"""README's first screen (bench.report.headline): the short table of what the article gets
right and wrong, from the evaluated claims of a run, and the block of README it replaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.report import claims, generate, headline, stats
from bench.report.claims_data import load_claims_file
from bench.report.load import load_run

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "run_small"


@pytest.fixture(scope="module")
def run():
    return load_run(FIXTURE)


@pytest.fixture(scope="module")
def evaluated(run):
    return claims.evaluate(run, stats.summarize(run.samples), load_claims_file())


def test_one_row_per_headline_label_apps_first(run, evaluated):
    c = load_claims_file()
    t = headline.table(evaluated, c)
    labels = list(dict.fromkeys(x["headline"] for x in c["claims"] if x.get("headline")))
    assert len(t) == len(labels)
    node = t.iloc[0]
    assert node["The article says"].startswith("Node.js web app") and "1.24 GB → 182 MB, 85%" in node["The article says"]
    assert node["Verdict"].count(",") == 2 and "before" in node["Verdict"] and "reduction" in node["Verdict"]
    # the fixture's node before/after, as the claims measured them
    ev = evaluated.set_index("id")
    assert f"{ev.loc['node-after', 'measured'].split(' ')[0]}" in node["Measured here"]
    singles = t[~t["Verdict"].str.contains(",")]
    assert "Multi-stage is the most impactful technique" in set(singles["The article says"])


def test_the_verdict_marks_follow_the_claims(run, evaluated):
    ev = evaluated.set_index("id")
    ev.loc["node-after", "verdict"] = claims.OFF
    t = headline.table(ev.reset_index(), load_claims_file())
    assert "❌ after" in t.iloc[0]["Verdict"]


def test_render_says_what_was_measured_on_which_bases_and_counts_every_claim(run, evaluated):
    text = headline.render(run, evaluated, load_claims_file())
    assert f"run `{run.run_id}`" in text and "stand-in" in text
    assert "| The article says | Measured here | Verdict |" in text
    assert f"All {len(evaluated)} claims" in text


def test_update_readme_replaces_only_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nintro\n\n{headline.BEGIN}\nold\n{headline.END}\n\nrest\n")
    assert headline.update_readme(readme, "new table\n")
    text = readme.read_text()
    assert "old" not in text and "new table" in text and text.startswith("# title\n\nintro") and text.endswith("rest\n")
    assert headline.update_readme(readme, "new table\n") and readme.read_text() == text  # stable
    plain = tmp_path / "OTHER.md"
    plain.write_text("no markers\n")
    assert not headline.update_readme(plain, "x") and plain.read_text() == "no markers\n"


def _published(tmp_path, latest: str):
    root = tmp_path / "repo"
    results = root / "results"
    shutil.copytree(FIXTURE, results / "runs" / FIXTURE.name)
    (results / "latest").write_text(latest + "\n")
    (root / "README.md").write_text(f"# bench\n\n{headline.BEGIN}\n{headline.END}\n")
    return root, results


def test_the_report_of_the_latest_run_rewrites_readmes_first_screen(tmp_path):
    root, results = _published(tmp_path, FIXTURE.name)
    w = generate(load_run(results / "runs" / FIXTURE.name), None, results)
    text = (root / "README.md").read_text()
    assert "| The article says |" in text and "(results/REPORT.md)" in text
    assert root / "README.md" in w.files
    assert (results / "runs" / FIXTURE.name / "report" / "headline.md").is_file()


def test_the_report_of_another_run_leaves_readme_alone(tmp_path):
    root, results = _published(tmp_path, "20990101T000000Z")
    generate(load_run(results / "runs" / FIXTURE.name), None, results)
    assert "| The article says |" not in (root / "README.md").read_text()


def test_many_claims_of_one_kind_are_tallied_and_a_wholly_untestable_row_gives_its_reason(run, evaluated):
    c = load_claims_file()
    t = headline.table(evaluated, c).set_index("The article says")
    bases = t.loc["The base-image table's sizes"]
    n_base = sum(x.get("headline") == "The base-image table's sizes" for x in c["claims"])
    marks = [int(tok) for tok in bases["Verdict"].split() if tok.isdigit()]
    assert sum(marks) == n_base and "of 10 hold" in bases["Measured here"]
    python = next(i for i in t.index if i.startswith("Python Flask API"))
    assert "–" not in t.loc[python, "Measured here"] and "python" in t.loc[python, "Measured here"].lower()
