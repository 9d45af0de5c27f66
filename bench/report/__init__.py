"""Report: a stored run -> tables, claim verdicts, charts and REPORT.md. No engine needed.

    load.py       a run folder -> RunData (samples, cells, metadata, provenance)
    stats.py      median with its 95% interval (timings), IQR, CV per cell and metric; flags
                  intervals wider than ±10% and CV > 10%
    tables.py     before/after, bases, ablation as DataFrames
    claims.toml   the article's quantitative claims (words and numbers only)
    claims.py     measured value and verdict for each claim
    charts.py     plot functions: DataFrame in, matplotlib Figure out
    markdown.py   REPORT.md
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPORT_DIR = "report"  # inside the output folder: charts and CSV tables


@dataclass
class Written:
    report: Path
    top_report: Path | None
    files: list[Path] = field(default_factory=list)
    verdicts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def generate(run, out_dir: Path | None = None, results_dir: Path | None = None) -> Written:
    """Write <out>/REPORT.md and <out>/report/{charts,csv}; <results>/REPORT.md as well when
    the run lives under <results>/runs and <out> is inside <results> (so neither a fixture
    nor a preview elsewhere overwrites the published report)."""
    from bench.report import charts, claims, headline, markdown, stats, tables
    from bench.report.claims_data import load_claims_file

    out_dir = Path(out_dir or run.folder)
    assets = out_dir / REPORT_DIR
    assets.mkdir(parents=True, exist_ok=True)
    claims_data = load_claims_file()
    summary = stats.summarize(run.samples)
    evaluated = claims.evaluate(run, summary, claims_data)
    warnings = stats.cv_warnings(summary, run.samples)
    files: list[Path] = []

    import matplotlib

    matplotlib.use("Agg")
    for name, fn in charts.CHARTS.items():
        fig = fn(run.samples, cells=run.cells, provenance=run.provenance)
        files += charts.save(fig, assets, name)

    evaluated.to_csv(assets / "claims.csv", index=False)
    tables.before_after(run, summary, claims_data).to_csv(assets / "before_after.csv", index=False)
    tables.bases(run, summary, claims_data).to_csv(assets / "bases.csv", index=False)
    tables.ablation(run, summary).to_csv(assets / "ablation.csv", index=False)
    summary.to_csv(assets / "summary.csv", index=False)
    files += [assets / f for f in ("claims.csv", "before_after.csv", "bases.csv", "ablation.csv", "summary.csv")]

    first_screen = headline.render(run, evaluated, claims_data, report_link="../REPORT.md")
    (assets / "headline.md").write_text(first_screen)
    files.append(assets / "headline.md")

    text = markdown.render(run, f"{REPORT_DIR}/", summary=summary, claims=claims_data, evaluated=evaluated,
                           warnings=warnings)
    report = out_dir / "REPORT.md"
    report.write_text(text)
    files.append(report)

    top = None
    # Only when the charts land inside results/ too: a preview elsewhere (--out /tmp/x) must
    # not leave the published REPORT.md pointing at files outside the repository.
    if (results_dir is not None and _inside(run.folder, Path(results_dir) / "runs")
            and _inside(out_dir, Path(results_dir))):
        top = Path(results_dir) / "REPORT.md"
        prefix = Path(os.path.relpath(assets.resolve(), Path(results_dir).resolve())).as_posix() + "/"
        top.write_text(markdown.render(run, prefix, summary=summary, claims=claims_data, evaluated=evaluated,
                                       warnings=warnings))
        files.append(top)
        # README's first screen shows the published run: the run results/latest names.
        readme = Path(results_dir).parent / "README.md"
        if _is_latest(run, Path(results_dir)) and readme.is_file():
            rel = Path(os.path.relpath(top.resolve(), readme.parent.resolve())).as_posix()
            if headline.update_readme(readme, headline.render(run, evaluated, claims_data, report_link=rel)):
                files.append(readme)
    return Written(report, top, files, claims.summary_counts(evaluated), warnings)


def _is_latest(run, results_dir: Path) -> bool:
    latest = results_dir / "latest"
    try:
        return latest.read_text().strip() == Path(run.folder).name  # what `Run.conclude` writes there
    except OSError:
        return False
