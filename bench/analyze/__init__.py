"""Image analysis: layers and wasted bytes (dive's figures), packages (syft), lint (hadolint).

The runner calls `analyze_image(tag, app, variant, dockerfile=..., executor=...)` once per
built image and stores the samples it returns (scenario "analyze", see docs/CONTRACTS.md).
A missing tool or a failing one leaves its metrics absent and says why (logged, and kept in
`ImageAnalysis.reasons`); it never stops the run.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.analyze.layers import LayerReport, analyze_archive, open_archive
from bench.analyze.lint import Finding, ToolUnavailable, lint_dockerfile
from bench.analyze.sbom import ECOSYSTEMS, packages
from bench.engine.executor import Executor
from bench.errors import UserError
from bench.store import Sample

log = logging.getLogger("bench.analyze")

__all__ = ["ImageAnalysis", "analyze", "analyze_image"]


@dataclass
class ImageAnalysis:
    image: str
    layers: LayerReport | None = None
    packages: dict[str, int] | None = None
    findings: list[Finding] | None = None
    reasons: dict[str, str] = field(default_factory=dict)  # metric group -> why it is absent

    def samples(self, app: str, variant: str) -> list[Sample]:
        base = dict(app=app, variant=variant, scenario="analyze")
        out: list[Sample] = []
        if self.layers is not None:
            f = self.layers.figures
            out.append(Sample(metric="efficiency", value=f.efficiency, unit="ratio", **base))
            if math.isfinite(f.user_wasted_percent):
                out.append(Sample(metric="user_wasted_percent", value=f.user_wasted_percent, unit="ratio", **base))
            out.append(Sample(metric="wasted_bytes", value=f.wasted_bytes, unit="B", **base))
            out.append(Sample(metric="reclaimable_bytes", value=f.reclaimable_bytes, unit="B", **base))
        if self.packages is not None:
            for eco in (*ECOSYSTEMS, "total"):
                out.append(Sample(metric="packages", value=self.packages.get(eco, 0), unit="count",
                                  detail=eco, **base))
        if self.findings is not None:
            per = Counter(f"{x.rule}:{x.line}" for x in self.findings)
            # "total" is always written when hadolint ran, so 0 findings is told apart from
            # "hadolint did not run".
            out.append(Sample(metric="hadolint_findings", value=len(self.findings), unit="count",
                              detail="total", **base))
            for key in sorted(per, key=lambda k: (int(k.rsplit(":", 1)[1]), k)):
                out.append(Sample(metric="hadolint_findings", value=per[key], unit="count", detail=key, **base))
        return out


def analyze(
    image_ref: str,
    *,
    dockerfile: str | Path | None = None,
    executor: Executor | None = None,
    archive: str | Path | None = None,
    sbom: bool = True,
    layers: bool = True,
    strict: bool = True,
) -> ImageAnalysis:
    """Everything bench knows about one image. A missing or failing tool only leaves its
    part empty with a reason. A missing image, an engine that does not answer or a broken
    `docker save` raise UserError when strict (the CLI), else they are a reason too."""
    result = ImageAnalysis(image_ref)
    if layers:
        try:
            result.layers = analyze_archive(open_archive(image_ref, archive=archive))
        except UserError as e:
            if strict:
                raise
            result.reasons["layers"] = str(e)
    if sbom:
        try:
            result.packages = packages(image_ref, executor, archive=str(archive) if archive else None)
        except ToolUnavailable as e:
            result.reasons["packages"] = str(e)
    if dockerfile is not None:
        try:
            result.findings = lint_dockerfile(dockerfile, executor)
        except ToolUnavailable as e:
            result.reasons["hadolint_findings"] = str(e)
    elif sbom or layers:
        result.reasons["hadolint_findings"] = "no Dockerfile given"
    if result.layers is not None and not math.isfinite(result.layers.figures.user_wasted_percent):
        result.reasons["user_wasted_percent"] = "the layers after the first hold no bytes (dive's 0/0)"
    return result


def analyze_image(
    image_ref: str,
    app: str,
    variant: str,
    dockerfile: str | Path | None = None,
    executor: Executor | None = None,
    *,
    archive: str | Path | None = None,
) -> list[Sample]:
    """Samples in scenario "analyze" for one built image (what the runner stores)."""
    # A run measures many images: one that cannot be read loses its analysis, not the run.
    result = analyze(image_ref, dockerfile=dockerfile, executor=executor, archive=archive, strict=False)
    for metric, why in result.reasons.items():
        log.warning("%s/%s: %s absent: %s", app, variant, metric, why)
    return result.samples(app, variant)
