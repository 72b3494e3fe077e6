"""Medians, ratios, the printed table, ``latest.json`` and the ratio plot."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from bench.workloads import Figure

CONVENTIONS = {
    "value": "the median of the repetitions (runs holds each one)",
    "cargohold": "cargohold as shipped: embedded default, SQLite, one worker process per core",
    "cargohold_postgresql": "the same cargohold with --database-url on a local PostgreSQL 15 "
    "with default settings (fsync and synchronous_commit on)",
    "reference": "Debian docker-registry (CNCF Distribution 2.8), filesystem storage",
    "ratio": "cargohold / reference, always, whatever the direction",
    "ratio_postgresql": "cargohold_postgresql / reference",
    "higher_is_better": "true: a ratio above 1 means cargohold is better; false (seconds, "
    "latency, memory, CPU): a ratio below 1 means cargohold is better",
}


def _median(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(clean) if clean else None


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3 if abs(value) < 10 else 1)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def summarize(figures: list[Figure]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for figure in figures:
        ch = _median(figure.runs.get("cargohold", []))
        pg = _median(figure.runs.get("cargohold_postgresql", []))
        ref = _median(figure.runs.get("reference", []))
        entry: dict[str, Any] = {
            "cargohold": _round(ch),
            "reference": _round(ref),
            "ratio": _ratio(ch, ref),
            "unit": figure.unit,
            "higher_is_better": figure.higher_is_better,
            "cargohold_postgresql": _round(pg),
            "ratio_postgresql": _ratio(pg, ref),
            "description": figure.description,
            "runs": {k: [_round(v) for v in vs] for k, vs in figure.runs.items()},
        }
        if figure.details:
            entry["details"] = figure.details
        if figure.errors:
            entry["errors"] = figure.errors
        out[figure.name] = entry
    return out


def _cell(value: float | None) -> str:
    if value is None:
        return "FAIL"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _verdict(entry: dict[str, Any], key: str) -> str:
    ratio = entry[key]
    if ratio is None:
        return "FAIL"
    better = ratio >= 1 if entry["higher_is_better"] else ratio <= 1
    return f"{ratio:.2f}{' ' if better else '!'}"


def table(figures: dict[str, dict[str, Any]], limits: dict[str, Any], meta: dict[str, Any]) -> str:
    with_postgresql = "cargohold_postgresql" in meta["servers"]
    header: tuple[str, ...] = ("figure", "unit", "better", "reference", "cargohold", "ratio")
    if with_postgresql:
        header += ("ch+postgres", "ratio")
    rows = [header]
    for name, e in figures.items():
        rows.append(
            (
                name,
                e["unit"],
                "higher" if e["higher_is_better"] else "lower",
                _cell(e["reference"]),
                _cell(e["cargohold"]),
                _verdict(e, "ratio"),
                *(
                    (_cell(e["cargohold_postgresql"]), _verdict(e, "ratio_postgresql"))
                    if with_postgresql
                    else ()
                ),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            c.ljust(w) if j < 3 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    scale = meta["scale"]
    lines.append("")
    lines.append(
        f"mode {scale['mode']}, median of {scale['repetitions']} repetitions; ratio = "
        "cargohold / reference; '!' marks a ratio where cargohold is worse."
    )
    lines.append(
        f"scale: blob {scale['blob_MiB']} MiB, image {scale['image_MiB']} MiB, "
        f"{scale['tags']:,} tags, {scale['repositories']:,} repositories, "
        f"{scale['small_request_seconds']} s per load run."
    )
    lines.append(
        "machine limits: " + ", ".join(f"{k} {v['value']} {v['unit']}" for k, v in limits.items())
    )
    for name, e in figures.items():
        for server, message in e.get("errors", {}).items():
            lines.append(f"FAILED {name} on {server}: {message.splitlines()[0][:200]}")
    returned = figures.get("tags_first_page", {}).get("details", {}).get("items_returned_per_page")
    if returned:
        lines.append(
            "items per listing page: "
            + "; ".join(
                f"{page}: " + ", ".join(f"{s}={n}" for s, n in by.items())
                for page, by in returned.items()
            )
        )
    return "\n".join(lines)


def write_json(
    path: Path, figures: dict[str, dict[str, Any]], limits: dict[str, Any], meta: dict[str, Any]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"figures": figures, "limits": limits, "meta": meta, "conventions": CONVENTIONS}
    path.write_text(json.dumps(document, indent=2) + "\n")


def plot(path: Path, figures: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str | None:
    """A horizontal bar chart of the ratios on a log axis; None when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no plot"
    names = list(figures)
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(names) + 1.6))
    height = 0.38
    for offset, key, label in (
        (-height / 2, "ratio", "cargohold (SQLite)"),
        (height / 2, "ratio_postgresql", "cargohold (PostgreSQL)"),
    ):
        values, colors = [], []
        for name in names:
            e = figures[name]
            ratio = e[key]
            values.append(ratio if ratio else float("nan"))
            good = ratio is not None and (ratio >= 1 if e["higher_is_better"] else ratio <= 1)
            base = (
                ("#2a9d8f" if good else "#e76f51")
                if key == "ratio"
                else ("#8ecae6" if good else "#f4a261")
            )
            colors.append(base)
        ax.barh(
            [i + offset for i in range(len(names))],
            values,
            height=height,
            color=colors,
            label=label,
        )
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(
        [f"{n} ({'↑' if figures[n]['higher_is_better'] else '↓'})" for n in names], fontsize=8
    )
    ax.invert_yaxis()
    ax.set_xlabel(
        "cargohold / reference (log scale); ↑: higher is better, ↓: lower is better; "
        "green/blue: cargohold better",
        fontsize=8,
    )
    ax.set_title(
        f"cargohold vs docker-registry 2.8 ({meta['scale']['mode']} run, {meta['started']})",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
