"""The report's charts and map, drawn by matplotlib as SVG.

SVG, so that the same drawing prints crisply in the PDF (WeasyPrint draws SVG
itself), scales in the browser, and can be checked shape by shape: every area
of a map is one ``<g class="area" id="area-N">`` holding one path (a polygon
with its islands and holes), with a ``<title>`` naming it for screen readers
and tooltips. Text stays text (``svg.fonttype: none``), so the PDF's charts are
searchable, and the SVG ids are salted with a fixed string so the same plan
gives the same bytes.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: drawing only (must precede pyplot)

from matplotlib import pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap, Normalize, TwoSlopeNorm  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from allocator.io.geometry import Polygon  # noqa: E402

#: Settings of every drawing: text as text, fixed ids, one font the PDF embeds and the browser has.
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "allocator-report",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
}
#: Colours (Okabe-Ito, readable with colour blindness): posts, target marks, gains, losses.
POSTS, TARGET, GAIN, LOSS = "#0072B2", "#000000", "#009E73", "#D55E00"
POLICY_MARKERS = "osD^vP*Xh<>"
POLICY_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
#: The sequential colours of the maps: Blues without its near-white end, so that the area with the
#: fewest posts still stands out from the white page.
SEQUENTIAL = ListedColormap(plt.get_cmap("Blues")(np.linspace(0.15, 1.0, 256)), name="allocator-blues")
#: The colour of borders between areas that are not outlined.
BORDER = "#8a8a8a"
#: Inches per row of a per-area chart: 100 rows fill an A4 page.
ROW = 0.095
WIDTH = 6.6


def _svg(figure: plt.Figure) -> str:
    """The figure as an SVG element (no XML prolog), sized by CSS, closed."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # Drop the fixed size: the page's CSS gives the width; the viewBox keeps the proportions.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)


def _height(rows: int) -> float:
    return max(1.6, 0.75 + ROW * rows)


def _row_axes(labels: Sequence[str], flagged: Sequence[bool]) -> tuple[plt.Figure, plt.Axes]:
    figure, axes = plt.subplots(figsize=(WIDTH, _height(len(labels))), layout="constrained")
    axes.set_yticks(range(len(labels)), [f"{label} ⚑" if flag else label for label, flag in zip(labels, flagged)],
                    fontsize=5.5 if len(labels) > 40 else 8)
    axes.set_ylim(len(labels) - 0.5, -0.5)  # first row on top
    axes.tick_params(axis="y", length=0)
    return figure, axes


def bars(labels: Sequence[str], posts: Sequence[float], targets: Sequence[float], flagged: Sequence[bool],
         number: Callable[[float], str], posts_label: str, target_label: str, axis_label: str) -> str:
    """Posts per area as bars, each area's target as a black mark."""
    with plt.rc_context(STYLE):
        figure, axes = _row_axes(labels, flagged)
        rows = range(len(labels))
        axes.barh(rows, posts, height=0.7, color=POSTS, label=posts_label)
        axes.scatter(targets, rows, marker="|", s=60 if len(labels) <= 40 else 25, color=TARGET,
                     label=target_label, zorder=3)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.set_xlabel(axis_label)
        axes.legend(loc="lower right", frameon=False)
        return _svg(figure)


def changes(labels: Sequence[str], change: Sequence[float], flagged: Sequence[bool],
            number: Callable[[float], str], axis_label: str) -> str:
    """The change of each area against last year: gains right in green, losses left in orange."""
    with plt.rc_context(STYLE):
        figure, axes = _row_axes(labels, flagged)
        axes.barh(range(len(labels)), change, height=0.7, color=[GAIN if c >= 0 else LOSS for c in change])
        axes.axvline(0, color="#444444", linewidth=0.6)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.set_xlabel(axis_label)
        return _svg(figure)


def intervals(labels: Sequence[str], low: Sequence[float], high: Sequence[float], posts: Sequence[float],
              number: Callable[[float], str], range_label: str, posts_label: str, axis_label: str) -> str:
    """Each area's Monte Carlo range of posts as a line, the plan's posts as a dot."""
    with plt.rc_context(STYLE):
        figure, axes = _row_axes(labels, [False] * len(labels))
        rows = list(range(len(labels)))
        axes.hlines(rows, low, high, color=POSTS, linewidth=2.2 if len(labels) <= 40 else 1.4, label=range_label)
        axes.scatter(posts, rows, color=TARGET, s=10 if len(labels) > 40 else 18, zorder=3, label=posts_label)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.set_xlabel(axis_label)
        axes.legend(loc="lower right", frameon=False)
        return _svg(figure)


def policies(labels: Sequence[str], series: dict[str, Sequence[float]], flagged: Sequence[bool],
             number: Callable[[float], str], axis_label: str) -> str:
    """Each policy's posts per area side by side: one marker per policy on each area's row."""
    with plt.rc_context(STYLE):
        figure, axes = _row_axes(labels, flagged)
        count = len(series)
        for k, (name, values) in enumerate(series.items()):
            offset = (k - (count - 1) / 2) * min(0.8 / max(count, 1), 0.25)
            axes.scatter(values, [row + offset for row in range(len(labels))], s=12 if len(labels) > 40 else 24,
                         marker=POLICY_MARKERS[k % len(POLICY_MARKERS)],
                         color=POLICY_COLOURS[k % len(POLICY_COLOURS)], label=name, zorder=3)
        axes.grid(axis="y", color="#eeeeee", linewidth=0.5)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.set_xlabel(axis_label)
        figure.legend(loc="outside upper center", ncols=min(count, 5), frameon=False)
        return _svg(figure)


def _compound(polygons: Sequence[Polygon], scale: float) -> MplPath:
    """One path of every ring of an area (islands and holes), projected: x = lon·cos(lat0), y = lat."""
    vertices: list[tuple[float, float]] = []
    codes: list[int] = []
    for polygon in polygons:
        for ring in polygon:
            vertices += [(lon * scale, lat) for lon, lat in ring]
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(vertices, codes)


def _projected(shapes: Sequence[Sequence[Polygon]]) -> list[MplPath]:
    latitudes = [lat for polygons in shapes for polygon in polygons for ring in polygon for _, lat in ring]
    scale = math.cos(math.radians((min(latitudes) + max(latitudes)) / 2)) if latitudes else 1.0
    return [_compound(polygons, scale) for polygons in shapes]


def _frame(axes: plt.Axes, paths: Sequence[MplPath]) -> None:
    """Fit the axes to the map with a 2 % margin.

    The patches are added with ``add_artist``, which skips matplotlib's
    per-segment update of the data limits (half the drawing time of a
    98-area map); the limits come from the vertices instead.
    """
    vertices = np.concatenate([path.vertices for path in paths])
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    margin = (high - low) * 0.02
    axes.set_xlim(low[0] - margin[0], high[0] + margin[0])
    axes.set_ylim(low[1] - margin[1], high[1] + margin[1])


def choropleth_grid(shapes: Sequence[Sequence[Polygon]], series: dict[str, Sequence[float | None]],
                    titles: dict[str, Sequence[str]], flagged: Sequence[bool], number: Callable[[float], str],
                    legend: str) -> str:
    """One small map per series (policy) on one colour scale, side by side.

    Each area of map P is ``<g class="area" id="area-P-N">`` with a ``<title>``.
    """
    paths = _projected(shapes)
    known = [v for values in series.values() for v in values if v is not None]
    norm = Normalize(vmin=min(known, default=0.0), vmax=max(known, default=1.0) or 1.0)
    cmap = SEQUENTIAL
    columns = min(3, len(series))
    rows = math.ceil(len(series) / columns)
    with plt.rc_context(STYLE):
        figure, grid = plt.subplots(rows, columns, figsize=(WIDTH, 2.1 * rows + 0.5), layout="constrained",
                                    squeeze=False)
        for p, (name, values) in enumerate(series.items()):
            axes = grid[p // columns][p % columns]
            for k in sorted(range(len(paths)), key=lambda k: flagged[k]):
                patch = PathPatch(paths[k], linewidth=0.6 if flagged[k] else 0.15,
                                  facecolor="#dddddd" if values[k] is None else cmap(norm(values[k])),
                                  edgecolor="#000000" if flagged[k] else BORDER)
                patch.set_gid(f"area-{p}-{k}")
                axes.add_artist(patch)
            _frame(axes, paths)
            axes.set_aspect("equal")
            axes.set_axis_off()
            axes.set_title(name)
        for q in range(len(series), rows * columns):
            grid[q // columns][q % columns].set_axis_off()
        bar = figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=grid, shrink=0.5, location="bottom")
        bar.set_label(legend)
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        text = _svg(figure)
    names = list(series)

    def titled(match: re.Match[str]) -> str:
        p, k = int(match.group(1)), int(match.group(2))
        return f'<g id="area-{p}-{k}" class="area"><title>{html.escape(titles[names[p]][k])}</title>'

    return re.sub(r'<g id="area-(\d+)-(\d+)">', titled, text)


def choropleth(shapes: Sequence[Sequence[Polygon]], values: Sequence[float | None], titles: Sequence[str],
               flagged: Sequence[bool], number: Callable[[float], str], legend: str, flag_label: str,
               diverging: bool = False) -> str:
    """A map of ``values`` per area; areas flagged (under-served) are outlined in black.

    Each area is one ``<g class="area" id="area-N">`` (N: its position in
    ``shapes``) with a ``<title>`` from ``titles``.
    """
    paths = _projected(shapes)
    known = [v for v in values if v is not None]
    if diverging:
        reach = max([abs(v) for v in known] + [1e-9])
        norm: Normalize = TwoSlopeNorm(vcenter=0.0, vmin=-reach, vmax=reach)
        cmap = plt.get_cmap("PuOr")
    else:
        norm = Normalize(vmin=min(known, default=0.0), vmax=max(known, default=1.0) or 1.0)
        cmap = SEQUENTIAL
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(WIDTH, 4.6), layout="constrained")
        order = sorted(range(len(shapes)), key=lambda k: flagged[k])  # outlines drawn last stay on top
        for k in order:
            value = values[k]
            patch = PathPatch(paths[k], linewidth=1.1 if flagged[k] else 0.3,
                              facecolor="#dddddd" if value is None else cmap(norm(value)),
                              edgecolor="#000000" if flagged[k] else BORDER, joinstyle="round")
            patch.set_gid(f"area-{k}")
            axes.add_artist(patch)
        _frame(axes, paths)
        axes.set_aspect("equal")
        axes.set_axis_off()
        mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        bar = figure.colorbar(mappable, ax=axes, shrink=0.6, location="right")
        bar.set_label(legend)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.plot([], [], color="#000000", linewidth=1.1, label=flag_label)
        axes.legend(loc="upper right", frameon=False)
        text = _svg(figure)

    def titled(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return f'<g id="area-{k}" class="area"><title>{html.escape(titles[k])}</title>'

    return re.sub(r'<g id="area-(\d+)">', titled, text)


def coverage(labels: Sequence[str], years: Sequence[int], values: Sequence[Sequence[float | None]],
             flagged: Sequence[bool], plan_years: int, number: Callable[[float], str], titles: Sequence[Sequence[str]],
             legend: str, plan_label: str, outlook_label: str) -> str:
    """Each area's coverage in each year as a row of cells, coloured around the target (1 = 100 %).

    Below the target is orange, above it purple, the target itself white (a diverging scale centred
    on 1), so a reader sees at a glance which areas fall short in which years. A line separates the
    plan years from the outlook. Each cell is one ``<g id="cell-R-C" class="cell">`` with a
    ``<title>`` from ``titles[R][C]``; where there are at most 40 rows the cells also print their figure.
    """
    from matplotlib.patches import Rectangle

    known = [v for row in values for v in row if v is not None]
    reach = max([abs(v - 1.0) for v in known] + [0.01])
    norm = TwoSlopeNorm(vcenter=1.0, vmin=1.0 - reach, vmax=1.0 + reach)
    cmap = plt.get_cmap("PuOr")
    with plt.rc_context(STYLE):
        figure, axes = _row_axes(labels, flagged)
        figure.set_size_inches(WIDTH, _height(len(labels)) + 0.6)
        small = len(labels) <= 40
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                colour = "#dddddd" if value is None else cmap(norm(value))
                cell = Rectangle((c - 0.5, r - 0.5), 1.0, 1.0, facecolor=colour, edgecolor="#ffffff", linewidth=0.4)
                cell.set_gid(f"cell-{r}-{c}")
                axes.add_artist(cell)
                if small and value is not None:
                    # Dark text on the pale middle of the scale, white on its dark ends.
                    dark = abs(norm(value) - 0.5) < 0.3
                    axes.text(c, r, number(value), ha="center", va="center", fontsize=5.5,
                              color="#000000" if dark else "#ffffff")
        axes.set_xlim(-0.5, len(years) - 0.5)
        axes.set_xticks(range(len(years)), [str(y) for y in years], fontsize=6.5)
        axes.xaxis.tick_top()
        axes.tick_params(axis="x", length=0)
        for side in ("left", "bottom"):
            axes.spines[side].set_visible(False)
        if 0 < plan_years < len(years):
            axes.axvline(plan_years - 0.5, color="#000000", linewidth=1.2, zorder=5)  # above the cells
            axes.text((plan_years - 1) / 2, len(labels) - 0.5, plan_label, ha="center", va="top", fontsize=7)
            axes.text((plan_years + len(years) - 1) / 2, len(labels) - 0.5, outlook_label, ha="center", va="top",
                      fontsize=7)
        bar = figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.5, location="bottom",
                              pad=0.08 if small else 0.02)
        bar.set_label(legend)
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        text = _svg(figure)

    def titled(match: re.Match[str]) -> str:
        r, c = int(match.group(1)), int(match.group(2))
        return f'<g id="cell-{r}-{c}" class="cell"><title>{html.escape(titles[r][c])}</title>'

    return re.sub(r'<g id="cell-(\d+)-(\d+)">', titled, text)


def sweep_ranges(values: Sequence[str], names: Sequence[str], spans: Sequence[Sequence[Sequence[float] | None]],
                 number: Callable[[float], str], x_label: str, y_label: str) -> str:
    """Each area's posts at each value of one sweep setting: a band from the lowest to the highest, a line between.

    One colour and marker per area (Okabe-Ito); the values are evenly spaced categories, as the
    table's columns are. A value with no plan leaves a gap. Each area is ``<g id="area-N">`` (N from 0).
    """
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(WIDTH, 3.4), layout="constrained")
        x = np.arange(len(values), dtype=float)
        for k, (name, row) in enumerate(zip(names, spans)):
            low = np.array([np.nan if span is None else span[0] for span in row], dtype=float)
            high = np.array([np.nan if span is None else span[1] for span in row], dtype=float)
            colour = POLICY_COLOURS[k % len(POLICY_COLOURS)]
            band = axes.fill_between(x, low, high, color=colour, alpha=0.18, linewidth=0)
            line, = axes.plot(x, (low + high) / 2, color=colour, linewidth=1.2,
                              marker=POLICY_MARKERS[k % len(POLICY_MARKERS)], markersize=3.5, label=name)
            band.set_gid(f"area-{k}-band")
            line.set_gid(f"area-{k}")
        axes.set_xticks(x, list(values))
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))
        axes.grid(axis="y", color="#eeeeee", linewidth=0.5)
        figure.legend(loc="outside right upper", frameon=False, fontsize=7)
        return _svg(figure)


def pareto_front(disruption: Sequence[float], equity: Sequence[float], supported: Sequence[bool],
                 x_label: str, y_label: str) -> str:
    """The equity–stability front: one point per nondominated plan, filled where a stability weight reaches it.

    The staircase joins the points as the front runs (no plan lies below it); hollow points are
    reached only by a cap on the total disruption. Each point is ``<g id="point-N">`` (N from 1).
    """
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(WIDTH, 3.4))
        order = sorted(range(len(disruption)), key=lambda k: disruption[k])
        axes.step([disruption[k] for k in order], [equity[k] for k in order], where="post", color=BORDER,
                  linewidth=0.8)
        for k, (x, y, filled) in enumerate(zip(disruption, equity, supported)):
            mark = axes.scatter([x], [y], s=18, marker="o", facecolors=POSTS if filled else "#ffffff",
                                edgecolors=POSTS, linewidths=1.0, zorder=3)
            mark.set_gid(f"point-{k + 1}")
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.set_title("Filled: reached by a stability weight; hollow: only by a cap on the total change",
                       fontsize=7.5)
        return _svg(figure)
