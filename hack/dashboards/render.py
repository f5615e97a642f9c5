"""Plots the panels hack/dashboards/render.ts read from Prometheus, styled like Grafana's dark theme.

Usage: render.py <panels.json> <out.png>
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BACKGROUND = "#111217"
PANEL = "#181b1f"
TEXT = "#ccccdc"
GRID = "#2c3235"
COLOURS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9"]
KS_FLOOR = 1e-12
UNITS = {"traffic": "requests/s", "latency": "seconds", "psi": "PSI", "ks": "p-value"}


def main(src, out):
    with open(src) as f:
        data = json.load(f)
    fig, axes = plt.subplots(2, 2, figsize=(14, 8), facecolor=BACKGROUND)
    for ax, panel in zip(axes.flat, data["panels"]):
        ax.set_facecolor(PANEL)
        ax.set_title(panel["title"], color=TEXT, loc="left", fontsize=11)
        ax.tick_params(colors=TEXT, labelsize=8)
        for side in ax.spines.values():
            side.set_color(GRID)
        ax.grid(color=GRID, linewidth=0.6)
        for phase in data["phases"]:
            if phase["shifted"]:
                ax.axvspan(phase["start"], phase["end"], color="#f2495c", alpha=0.08, lw=0)
        colour = iter(COLOURS)
        # p-values of a shifted window reach 1e-200; what matters is crossing the line, so they
        # are drawn at the axis floor rather than off the panel.
        floor = KS_FLOOR if panel["key"] == "ks" else float("-inf")
        for s in panel["series"]:
            xs = [p[0] for p in s["points"]]
            ys = [max(p[1], floor) for p in s["points"]]
            if s["threshold"]:
                ax.plot(xs, ys, color="#f2495c", linestyle="--", linewidth=1.2, label=s["legend"])
            else:
                ax.plot(xs, ys, color=next(colour, "#999999"), linewidth=1.4, label=s["legend"])
        if panel["key"] == "ks":
            ax.set_yscale("log")
            ax.set_ylim(bottom=KS_FLOOR / 2, top=5)
        ax.set_ylabel(UNITS.get(panel["key"], ""), color=TEXT, fontsize=9)
        ax.set_xlabel("seconds", color=TEXT, fontsize=8)
        where = "center left" if panel["key"] == "ks" else "upper left"
        legend = ax.legend(fontsize=7, facecolor=PANEL, edgecolor=GRID, loc=where, ncol=2)
        for t in legend.get_texts():
            t.set_color(TEXT)
    shifted = next(p for p in data["phases"] if p["shifted"])
    fig.suptitle(
        f"k2k model server: model {data['model']}, live Prometheus data "
        f"(shaded: shifted inputs, {shifted['start']:.0f}-{shifted['end']:.0f} s)",
        color=TEXT,
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=100, facecolor=BACKGROUND)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
