"""The floor of a run's push and pull times on its machine, beside what they measured.

A floor is what the engine's own work would take at this machine's measured limits
(bench.limits, stored per segment), with nothing else in the way:

- a push compresses every layer with gzip (the registry is emptied first, so nothing is
  skipped): the image's on-disk bytes / the gzip rate, spread over min(CPUs, layers, 5)
  cores because dockerd pushes up to 5 layers at once (max-concurrent-uploads), yet never
  less than its largest layer alone;
- a cold pull moves the compressed bytes over the profile's link (none for loopback),
  decompresses them and unpacks the on-disk bytes file by file. dockerd downloads up to 3
  layers at once, each whole into a temporary file, and decompresses and unpacks each
  layer once it has arrived, in layer order (moby's distribution/pull_v2.go and xfer
  download manager), with unpigz, when present, as a process of its own. Different layers'
  stages overlap, so the floor is the slowest stage over the image, not the sum of the
  three; decompression counts at the faster decompressor measured (a probe of unpigz
  through a pipe understates what it does inside a pull), unpacking at the slower of a
  sequential write and a many-file extraction (when the run measured the latter). Within
  one layer the stages do not overlap, which is one reason a pull of a big single layer
  sits well above this floor.

Every push and pull the run made counts (warmups too: the phase's time includes them).
Builds and the other phases have no floor here; they are left as measured. Runs that did
not measure the limits get no floor: `floor_section` returns "".
"""

from __future__ import annotations

import pandas as pd

from bench.limits import Limits
from bench.report import fmt
from bench.report.load import RunData
from bench.settings import BANDWIDTHS

MAX_CONCURRENT_UPLOADS = 5  # dockerd's default --max-concurrent-uploads


def segment_limits(run: RunData) -> dict[int, Limits]:
    """Each segment's measured limits, by segment index (segments that measured none are absent)."""
    out = {}
    for i, seg in enumerate(run.metadata.get("segments") or []):
        lim = Limits.from_json(seg.get("limits"))
        if lim is not None:
            out[int(seg.get("index", i))] = lim
    return out


def _cpus(run: RunData, segment: int) -> int:
    segs = run.metadata.get("segments") or []
    mach = (segs[segment].get("machine") if segment < len(segs) else None) or run.metadata.get("machine") or {}
    try:
        return max(1, int(mach.get("cpus") or 1))
    except (TypeError, ValueError):
        return 1


def _segment(v) -> int | None:
    """A cell's segment index; None when it recorded none (NaN in a frame)."""
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


def _one(s: pd.DataFrame, scenario: str, metric: str) -> float | None:
    v = s.loc[(s["scenario"] == scenario) & (s["metric"] == metric), "value"]
    return float(v.iloc[0]) if len(v) else None


def push_floor(disk: float, largest_layer: float, layers: int, cpus: int, lim: Limits) -> float:
    """Seconds one push of an image cannot beat: its gzip work on the cores it can use."""
    cores = max(1, min(cpus, max(layers, 1), MAX_CONCURRENT_UPLOADS))
    return max(disk / (lim.gzip_bytes_per_s * cores), largest_layer / lim.gzip_bytes_per_s)


def pull_floor(compressed: float, disk: float, bandwidth: float | None, lim: Limits) -> float:
    """Seconds one cold pull cannot beat: the slowest of its three stages (the wire,
    decompression, unpacking), which overlap across layers, so their sum would not be a
    floor. Decompression is counted at the faster of the two decompressors measured,
    unpacking at `Limits.unpack_bytes_per_s`."""
    wire = compressed * 8 / bandwidth if bandwidth else 0.0
    return max(wire, compressed / lim.decompress_bytes_per_s, disk / lim.unpack_bytes_per_s)


def cell_floors(run: RunData) -> pd.DataFrame:
    """One row per (cell, phase) of push and pulls: how many, measured seconds, floor seconds,
    for the cells whose segment measured the limits."""
    limits = segment_limits(run)
    bws = run.samples.attrs.get("bandwidths") or BANDWIDTHS
    rows = []
    for c in run.cells.itertuples(index=False):
        seg = _segment(c.segment)
        lim = limits.get(seg) if seg is not None else None
        s = run.samples[(run.samples["app"] == c.app) & (run.samples["variant"] == c.variant)]
        disk, comp = _one(s, "image", "disk_bytes"), _one(s, "image", "compressed_bytes")
        if lim is None or not disk or not comp:
            continue
        layer_bytes = s.loc[(s["scenario"] == "image") & (s["metric"] == "layer_bytes"), "value"]
        pushes = s.loc[(s["scenario"] == "push") & (s["metric"] == "push_seconds"), "value"]
        one = push_floor(disk, float(layer_bytes.max()) if len(layer_bytes) else 0.0,
                         int(_one(s, "image", "layers") or len(layer_bytes) or 1), _cpus(run, seg), lim)
        rows.append({"app": c.app, "variant": c.variant, "phase": "push", "n": len(pushes), "measured": float(pushes.sum()), "floor": one * len(pushes),
                     "compressed": comp * len(pushes), "disk": disk * len(pushes)})
        pulls = s[(s["scenario"] == "pull") & (s["metric"] == "pull_seconds")]
        for profile, g in pulls.groupby("profile", sort=False):
            one = pull_floor(comp, disk, bws.get(profile), lim)
            rows.append({"app": c.app, "variant": c.variant, "phase": f"pull {profile}", "n": len(g), "measured": float(g["value"].sum()),
                         "floor": one * len(g), "compressed": comp * len(g), "disk": disk * len(g)})
    return pd.DataFrame(rows, columns=["app", "variant", "phase", "n", "measured", "floor", "compressed", "disk"])


def phase_totals(run: RunData) -> dict[str, float]:
    """Seconds per phase over the cells, as they recorded them."""
    totals: dict[str, float] = {}
    for ph in run.cells["phase_seconds"] if "phase_seconds" in run.cells else []:
        if isinstance(ph, dict):
            for k, v in ph.items():
                totals[k] = totals.get(k, 0.0) + float(v)
    return totals


def floor_table(f: pd.DataFrame) -> pd.DataFrame:
    g = f.groupby("phase", sort=False)[["n", "measured", "floor", "compressed", "disk"]].sum()
    rows = [{"Phase": "push" if ph == "push" else f"cold pull, {ph.split(' ', 1)[1]}", "Times": int(r.n),
             "Moved (compressed / on disk)": f"{fmt.size(r.compressed)} / {fmt.size(r.disk)}",
             "Measured": fmt.duration(r.measured), "Floor": fmt.duration(r.floor),
             "Measured / floor": f"{r.measured / r.floor:.1f}×" if r.floor else "–"}
            for ph, r in g.iterrows()]
    rows.append({"Phase": "push and pulls", "Times": int(g["n"].sum()), "Moved (compressed / on disk)": "",
                 "Measured": fmt.duration(g["measured"].sum()), "Floor": fmt.duration(g["floor"].sum()),
                 "Measured / floor": f"{g['measured'].sum() / g['floor'].sum():.1f}×" if g["floor"].sum() else "–"})
    return pd.DataFrame(rows)


def floor_section(run: RunData) -> str:
    """The floor table and its sentence; "" for runs that did not measure the limits."""
    f = cell_floors(run)
    if f.empty:
        return ""
    lims = segment_limits(run)
    floor, measured = f["floor"].sum(), f["measured"].sum()
    totals = phase_totals(run)
    text = (f"The floor of this run's push and pull phases on this machine is {fmt.duration(floor)}; "
            f"measured {fmt.duration(measured)}")
    if "push_pull" in totals:
        other = sum(v for k, v in totals.items() if k != "push_pull")
        text += (f" (the whole push and pull phase, with registry restarts, engine wipes and tagging, took "
                 f"{fmt.duration(totals['push_pull'])}). With every other phase as measured "
                 f"({fmt.duration(other)}, builds included), these cells cannot take less than "
                 f"{fmt.duration(other + floor)} on this machine without measuring less")
    return ("Floor of push and pulls, over the cells whose run segment measured this machine's limits "
            f"({_limits_text(lims)}). A push's floor is its gzip work on the cores dockerd can use "
            f"(at most {MAX_CONCURRENT_UPLOADS} layers at once), a pull's the slowest of its overlapping stages: "
            "the wire at the profile's bandwidth, decompression, unpacking the on-disk bytes (at the slower of the "
            "sequential write and the extraction, when measured). They overlap only across layers: dockerd downloads "
            "each layer whole before it unpacks it, layer after layer, so a big single layer sits well above its floor. "
            "Warmups count: the phase's time includes them.\n\n"
            + fmt.markdown_table(floor_table(f)) + "\n" + text + ".\n\n" + _far_above(f, lims))


def _limits_text(lims: dict[int, Limits]) -> str:
    """Each segment's limits; one segment's (or identical ones) without the segment numbers."""
    def one(lim: Limits) -> str:
        return "; ".join(lim.lines()[:-1]) + f"; {lim.sample}"

    texts = {i: one(lim) for i, lim in sorted(lims.items())}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return " — ".join(f"segment {i}: {t}" for i, t in texts.items())


FAR = 3.0  # a phase this many times its floor gets the sentence below


def _far_above(f: pd.DataFrame, lims: dict[int, Limits]) -> str:
    """Why a pull phase can sit far above its byte floor, said where one does."""
    g = f.groupby("phase", sort=False)[["measured", "floor"]].sum()
    far = [ph for ph, r in g.iterrows() if ph != "push" and r.floor and r.measured / r.floor >= FAR]
    if not far:
        return ""
    files = max((lim.sample_files for lim in lims.values()), default=0)
    sample = f" (the extraction probe prices the {files} files of its sample, not an image's own files)" if files else ""
    profiles = [ph.split(" ", 1)[1] for ph in far]
    named = profiles[0] if len(profiles) == 1 else ", ".join(profiles[:-1]) + " and " + profiles[-1]
    return (f"The cold pulls at {named} sit at {FAR:g}× or more of their floor. "
            "That floor prices bytes; the rest is the engine's own work per layer and per file: dockerd downloads each "
            "layer whole into a temporary file before it unpacks it, unpacks the layers one after another, and "
            f"creates every file with its owner, mode and times{sample}. None of it is bench's: the time is "
            "measured around `docker pull` alone, with the engine wiped before, not during, each pull.\n\n")
