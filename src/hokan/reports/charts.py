"""Charts drawn by matplotlib (Agg, no display), with the Japanese font of
:mod:`hokan.kit.pdf` so labels render: SVG for the HTML page (text kept as text,
no CDN, no script), PNG for the PDF."""

from __future__ import annotations

import io
import threading
from functools import cache
from typing import Any

from hokan.kit.pdf import japanese_font_path
from hokan.reports.document import Chart

_LOCK = threading.Lock()  # pyplot's state is global: one figure at a time


@cache
def _setup() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    path = japanese_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams["font.family"] = [name, "sans-serif"]
    plt.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    plt.rcParams["svg.hashsalt"] = "hokan"  # the same data gives the same SVG
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _draw(chart: Chart, fmt: str, dpi: int = 110) -> bytes:
    plt = _setup()
    with _LOCK:
        fig, ax = plt.subplots(figsize=(7.0, 2.8))
        try:
            x = list(range(len(chart.categories)))
            count = max(1, len(chart.series))
            width = 0.8 / count
            for i, (name, values) in enumerate(chart.series):
                ys = [float("nan") if v is None else float(v) for v in values]
                if chart.kind == "line":
                    ax.plot(x, ys, marker="o", label=name)
                else:
                    ax.bar([p + (i - (count - 1) / 2) * width for p in x], ys, width, label=name)
            ax.set_xticks(x, chart.categories, fontsize=8)
            ax.set_title(chart.title, fontsize=10)
            if chart.unit:
                ax.set_ylabel(chart.unit, fontsize=8)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", alpha=0.3)
            if len(chart.series) > 1:
                ax.legend(fontsize=7, loc="best")
            fig.tight_layout()
            out = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else {}
            fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)
        finally:
            plt.close(fig)
    return out.getvalue()


def svg(chart: Chart) -> str:
    text = _draw(chart, "svg").decode("utf-8")
    return text[text.index("<svg") :]  # inline: without the XML declaration and doctype


def png(chart: Chart, dpi: int = 150) -> bytes:
    return _draw(chart, "png", dpi)
