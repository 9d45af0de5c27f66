"""dive-compatible CI rules: the same `.dive-ci` file, defaults, comparisons and report.

Mirrors dive 0.13 (`runtime/ci/rule.go`, `runtime/ci/evaluator.go`):

    rules:
      lowestEfficiency: 0.9           # fail if efficiency < this            (default 0.9)
      highestWastedBytes: disabled    # fail if wasted bytes > this: 20MB... (default disabled)
      highestUserWastedPercent: 0.1   # fail if user wasted ratio > this     (default 0.1)

A rule left out (or commented out) keeps dive's default: it is not disabled (dive #606).
`disabled` disables a rule. Byte sizes are read like go-humanize's ParseBytes (20MB is
20 * 1000^2, 20MiB is 20 * 1024^2). A misconfigured rule fails the whole check, as in dive.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from bench.analyze.layers import Figures
from bench.errors import UserError

DEFAULTS = {
    "lowestEfficiency": "0.9",
    "highestWastedBytes": "disabled",
    "highestUserWastedPercent": "0.1",
}
_KEYS = {k.lower(): k for k in DEFAULTS}  # viper keys are case-insensitive
# dive >= 0.13's own config file spells them in kebab case; accept those too
_KEYS.update({
    "lowest-efficiency-threshold": "lowestEfficiency",
    "highest-wasted-bytes": "highestWastedBytes",
    "highest-user-wasted-percent": "highestUserWastedPercent",
})


# --------------------------------------------------------------------------------------------
# Reading .dive-ci (a two-level YAML mapping; no YAML dependency needed for it)
# --------------------------------------------------------------------------------------------
def _scalar(v: str) -> str:
    v = v.strip()
    if v[:1] in ("'", '"'):
        end = v.find(v[0], 1)
        if end > 0:
            return v[1:end]
    return re.split(r"(?:^|\s+)#", v, maxsplit=1)[0].strip()


def parse_dive_ci(text: str) -> dict[str, str]:
    """The rule values of a `.dive-ci` file, defaults filled in."""
    rules = dict(DEFAULTS)
    section: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        m = re.match(r"^([A-Za-z0-9_.-]+)\s*:\s*(.*)$", stripped)
        if not m:
            raise UserError(f".dive-ci line {n} is not `key: value` ({raw.strip()!r}); fix it or remove the file")
        key, value = m.group(1), m.group(2)
        indented = line[: len(line) - len(stripped)] != ""
        if not indented:
            section = key.lower()
            if "." in key:  # flat form: rules.lowestEfficiency: 0.9
                sect, _, sub = key.partition(".")
                if sect.lower() == "rules" and sub.lower() in _KEYS:
                    rules[_KEYS[sub.lower()]] = _scalar(value)
            continue
        if section == "rules" and key.lower() in _KEYS:
            rules[_KEYS[key.lower()]] = _scalar(value)
    return rules


def load_rules(path: str | Path | None = None, *, cwd: Path | None = None) -> tuple[dict[str, str], str]:
    """Rules from FILE, else `.dive-ci` in the current directory, else dive's defaults."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"no CI config at {p}; pass an existing file to --ci-config")
        return parse_dive_ci(p.read_text()), str(p)
    p = (cwd or Path.cwd()) / ".dive-ci"
    if p.is_file():
        return parse_dive_ci(p.read_text()), str(p)
    return dict(DEFAULTS), "defaults"


# --------------------------------------------------------------------------------------------
# go-humanize and Go's %v, so messages read exactly like dive's
# --------------------------------------------------------------------------------------------
_BYTE_UNITS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgtpezy", 1):
    _BYTE_UNITS[_p] = _BYTE_UNITS[_p + "b"] = 1000**_i
    _BYTE_UNITS[_p + "i"] = _BYTE_UNITS[_p + "ib"] = 1024**_i


def parse_bytes(s: str) -> int:
    """go-humanize ParseBytes: "20MB" -> 20000000, "1.5 KiB" -> 1536, "42" -> 42."""
    n = 0
    for ch in s:
        if ch.isdigit() or ch in ".,":
            n += 1
        else:
            break
    num = s[:n].replace(",", "")
    unit = s[n:].strip().lower()
    try:
        f = float(num)
    except ValueError:
        raise ValueError(f"strconv.ParseFloat: parsing {num!r}: invalid syntax") from None
    if unit not in _BYTE_UNITS:
        raise ValueError(f"unhandled size name: {unit}")
    f *= _BYTE_UNITS[unit]
    if f >= 2**64:
        raise ValueError(f"too large: {s}")
    return int(f)


def human_bytes(n: int) -> str:
    """go-humanize Bytes (SI): 6000 -> "6.0 kB"."""
    if n < 10:
        return f"{n} B"
    e = int(math.floor(math.log(n) / math.log(1000)))
    suffix = ["B", "kB", "MB", "GB", "TB", "PB", "EB"][e]
    val = math.floor(n / 1000**e * 10 + 0.5) / 10
    return f"{val:.0f} {suffix}" if val >= 10 else f"{val:.1f} {suffix}"


def go_float(v: float) -> str:
    """Go's %v for a float64 (shortest repr; exponent below 1e-4 or from 1e21)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    r = repr(float(v))
    if "e" in r:
        mant, exp = r.split("e")
        if 0 <= int(exp) < 21:
            r = f"{v:.0f}" if float(v).is_integer() else format(v, "f")
        else:
            r = f"{mant}e{int(exp):+03d}"
    elif r.endswith(".0"):
        r = r[:-2]
    return r


# --------------------------------------------------------------------------------------------
# Evaluating
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleResult:
    rule: str
    status: str  # PASS | FAIL | SKIP
    message: str = ""

    def line(self) -> str:
        if self.message:
            return f"  {self.status}: {self.rule}: {self.message}"
        return f"  {self.status}: {self.rule}"


def validate(rules: dict[str, str]) -> None:
    problems = []
    for key in ("lowestEfficiency", "highestUserWastedPercent"):
        v = rules[key]
        if v == "disabled":
            continue
        try:
            f = float(v)
        except ValueError:
            problems.append(f"{key}: invalid config value ({v!r})")
            continue
        if not 0 <= f <= 1:
            problems.append(f"{key} config value is outside allowed range (0-1), given '{v}'")
    v = rules["highestWastedBytes"]
    if v != "disabled":
        try:
            parse_bytes(v)
        except ValueError as e:
            problems.append(f"highestWastedBytes: invalid config value ({v!r}): {e}")
    if problems:
        raise UserError("CI misconfigured: " + "; ".join(problems) + " (fix the .dive-ci file or --ci-config)")


def evaluate(fig: Figures, rules: dict[str, str]) -> list[RuleResult]:
    """dive's rules, sorted by name like its report."""
    validate(rules)
    out = []
    v = rules["highestUserWastedPercent"]
    if v == "disabled":
        out.append(RuleResult("highestUserWastedPercent", "SKIP", "rule disabled"))
    else:
        t = float(v)
        if t < fig.user_wasted_percent:  # NaN compares false: passes, as in dive
            out.append(RuleResult("highestUserWastedPercent", "FAIL",
                                  "too many bytes wasted, relative to the user bytes added "
                                  f"(%-user-wasted-bytes={go_float(fig.user_wasted_percent)} > threshold={go_float(t)})"))
        else:
            out.append(RuleResult("highestUserWastedPercent", "PASS"))
    v = rules["highestWastedBytes"]
    if v == "disabled":
        out.append(RuleResult("highestWastedBytes", "SKIP", "rule disabled"))
    else:
        t = parse_bytes(v)
        if fig.wasted_bytes > t:
            out.append(RuleResult("highestWastedBytes", "FAIL",
                                  f"too many bytes wasted (wasted-bytes={fig.wasted_bytes} > threshold={t})"))
        else:
            out.append(RuleResult("highestWastedBytes", "PASS"))
    v = rules["lowestEfficiency"]
    if v == "disabled":
        out.append(RuleResult("lowestEfficiency", "SKIP", "rule disabled"))
    else:
        t = float(v)
        if t > fig.efficiency:
            out.append(RuleResult("lowestEfficiency", "FAIL",
                                  f"image efficiency is too low (efficiency={go_float(fig.efficiency)} < threshold={go_float(t)})"))
        else:
            out.append(RuleResult("lowestEfficiency", "PASS"))
    return out


def passed(results: list[RuleResult]) -> bool:
    return not any(r.status == "FAIL" for r in results)


def report(fig: Figures, results: list[RuleResult]) -> str:
    """The text dive --ci prints, minus colour."""
    lines = [
        f"  efficiency: {fig.efficiency * 100:.4f} %",
        f"  wastedBytes: {fig.wasted_bytes} bytes ({human_bytes(fig.wasted_bytes)})",
        f"  userWastedPercent: {fig.user_wasted_percent * 100:.4f} %",
        "Inefficient Files:",
        f"{'Count':>5}  {'Wasted Space':>12}  File Path",
    ]
    if not fig.inefficiencies:
        lines.append("None")
    for p in fig.inefficiencies:
        lines.append(f"{p.copies:>5}  {human_bytes(p.cumulative):>12}  {p.path}")
    lines.append("Results:")
    lines.extend(r.line() for r in results)
    n = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    status = "FAIL" if n["FAIL"] else "PASS"
    lines.append(f"Result:{status} [Total:{len(results)}] [Passed:{n['PASS']}] [Failed:{n['FAIL']}] "
                 f"[Warn:0] [Skipped:{n['SKIP']}]")
    return "\n".join(lines)
