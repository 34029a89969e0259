"""Draw :mod:`paddleseg.utils.figure` descriptions with OpenCV (BGR uint8 images, white ground)."""
from __future__ import annotations

from typing import Dict, List, Tuple

import cv2
import numpy as np

from .figure import Axis, HeatmapFigure, LineFigure

FONT = cv2.FONT_HERSHEY_SIMPLEX
BLACK, GREY, WHITE = (0, 0, 0), (225, 225, 225), (255, 255, 255)
# Tableau colours, RGB; drawn as BGR.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75)]


def colour(k: int) -> Tuple[int, int, int]:
    """The BGR colour of the ``k``-th series."""
    r, g, b = PALETTE[k % len(PALETTE)]
    return (b, g, r)


def text_size(text: str, scale: float = 0.4) -> Tuple[int, int]:
    (w, h), _ = cv2.getTextSize(text, FONT, scale, 1)
    return w, h


def put_text(img: np.ndarray, text: str, org: Tuple[int, int], scale: float = 0.4,
             col: Tuple[int, int, int] = BLACK) -> None:
    """``text`` with its baseline's left end at ``org``."""
    cv2.putText(img, text, (int(org[0]), int(org[1])), FONT, scale, col, 1, cv2.LINE_AA)


def put_vertical(img: np.ndarray, text: str, centre: Tuple[int, int], scale: float = 0.4) -> None:
    """``text`` read bottom to top, centred on ``centre`` (clipped to the image)."""
    w, h = text_size(text, scale)
    strip = np.full((h + 6, w + 4, 3), 255, np.uint8)
    put_text(strip, text, (2, h + 2), scale)
    strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    sh, sw = strip.shape[:2]
    x0, y0 = int(centre[0] - sw // 2), int(centre[1] - sh // 2)
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + sw, img.shape[1]), min(y0 + sh, img.shape[0])
    if ix1 > ix0 and iy1 > iy0:
        part = strip[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        img[iy0:iy1, ix0:ix1] = np.minimum(img[iy0:iy1, ix0:ix1], part)   # dark text over white


def _title(img: np.ndarray, title: str, y: int = 20) -> None:
    w, _ = text_size(title, 0.5)
    put_text(img, title, ((img.shape[1] - w) // 2, y), 0.5)


# ------------------------------------------------------------------ line charts
LINE_MARGINS = (70, 20, 34, 48)   # left, right, top, bottom


def _scale(axis: Axis, lo_px: float, hi_px: float):
    a, b = axis.limits
    return lambda v: lo_px + (v - a) / (b - a) * (hi_px - lo_px)


def _legend(img: np.ndarray, fig: LineFigure, right: int, top: int) -> None:
    names = fig.legend
    width = max(text_size(n)[0] for n in names) + 34
    x0, y0 = right - width - 6, top + 6
    cv2.rectangle(img, (x0, y0), (x0 + width, y0 + 16 * len(names) + 6), WHITE, -1)
    cv2.rectangle(img, (x0, y0), (x0 + width, y0 + 16 * len(names) + 6), GREY, 1)
    for k, name in enumerate(names):
        y = y0 + 16 * k + 14
        cv2.line(img, (x0 + 6, y - 4), (x0 + 24, y - 4), colour(k), 2, cv2.LINE_AA)
        if fig.series[k].markers:
            cv2.circle(img, (x0 + 15, y - 4), 4, colour(k), -1, cv2.LINE_AA)
        put_text(img, name, (x0 + 28, y))


def render_line(fig: LineFigure) -> np.ndarray:
    """The chart as a ``fig.size`` (width, height) BGR image."""
    w, h = fig.size
    left, right, top, bottom = LINE_MARGINS
    img = np.full((h, w, 3), 255, np.uint8)
    px = _scale(fig.x, left, w - right)
    py = _scale(fig.y, h - bottom, top)
    for value, label in fig.x.ticks:
        x = int(round(px(value)))
        cv2.line(img, (x, top), (x, h - bottom), GREY, 1)
        tw, _ = text_size(label)
        put_text(img, label, (x - tw // 2, h - bottom + 15))
    for value, label in fig.y.ticks:
        y = int(round(py(value)))
        cv2.line(img, (left, y), (w - right, y), GREY, 1)
        tw, _ = text_size(label)
        put_text(img, label, (left - 6 - tw, y + 4))
    cv2.rectangle(img, (left, top), (w - right, h - bottom), BLACK, 1)
    for k, s in enumerate(fig.series):
        # a non-finite value (a log that ends in a NaN loss) has no place on the chart
        pts = np.array([(px(x), py(y)) for x, y in s.points if np.isfinite(y)]).round()
        pts = pts.astype(np.int32).reshape(-1, 2)
        if s.line and len(pts) > 1:
            cv2.polylines(img, [pts], False, colour(k), 2, cv2.LINE_AA)
        if s.markers or len(pts) == 1:
            for p in pts:
                cv2.circle(img, (int(p[0]), int(p[1])), 4, colour(k), -1, cv2.LINE_AA)
    _title(img, fig.title)
    tw, _ = text_size(fig.x.label, 0.45)
    put_text(img, fig.x.label, ((left + w - right - tw) // 2, h - 10), 0.45)
    put_vertical(img, fig.y.label, (12, (top + h - bottom) // 2), 0.45)
    if fig.series:
        _legend(img, fig, w - right, top)
    return img


# ------------------------------------------------------------------ heat maps
def heatmap_layout(fig: HeatmapFigure) -> Dict[str, int]:
    """Pixel positions of the heat map's parts; ``width`` / ``height`` are the image's size."""
    rows, cols = fig.values.shape
    row_names = max((text_size(t)[0] for t in fig.y.tick_labels), default=0)
    col_names = max((text_size(t)[0] for t in fig.x.tick_labels), default=0)
    bar_ticks = max((text_size(t)[0] for t in fig.colorbar.tick_labels), default=0)
    grid_x, grid_y = 30 + row_names + 8, 34
    grid_w, grid_h = cols * fig.cell, rows * fig.cell
    bar_x = grid_x + grid_w + 20
    bar_label_x = bar_x + 16 + 6 + bar_ticks + 14
    width = max(bar_label_x + 14, text_size(fig.title, 0.5)[0] + 40)
    height = grid_y + grid_h + 8 + col_names + 30
    return dict(grid_x=grid_x, grid_y=grid_y, grid_w=grid_w, grid_h=grid_h, bar_x=bar_x,
                bar_label_x=bar_label_x, width=width, height=height)


def _cell_colours(values: np.ndarray, limits: Tuple[float, float]) -> np.ndarray:
    """Values -> BGR, darker for larger (OpenCV's 'bone' map reversed)."""
    lo, hi = limits
    norm = np.clip((np.asarray(values, np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return cv2.applyColorMap((255 * (1.0 - norm)).astype(np.uint8), cv2.COLORMAP_BONE)


def _colorbar(img: np.ndarray, fig: HeatmapFigure, lay: Dict[str, int]) -> None:
    x, y, h = lay["bar_x"], lay["grid_y"], lay["grid_h"]
    lo, hi = fig.colorbar.limits
    column = np.linspace(hi, lo, h).reshape(h, 1)
    img[y:y + h, x:x + 16] = cv2.resize(_cell_colours(column, (lo, hi)), (16, h),
                                        interpolation=cv2.INTER_NEAREST)
    cv2.rectangle(img, (x, y), (x + 15, y + h - 1), BLACK, 1)
    for value, label in fig.colorbar.ticks:
        ty = int(round(y + (hi - value) / (hi - lo) * (h - 1)))
        cv2.line(img, (x + 16, ty), (x + 19, ty), BLACK, 1)
        put_text(img, label, (x + 22, ty + 4), 0.35)
    put_vertical(img, fig.colorbar.label, (lay["bar_label_x"], y + h // 2), 0.4)


def render_heatmap(fig: HeatmapFigure) -> np.ndarray:
    """The heat map with row / column names, axis titles, cell texts and a colour bar."""
    lay = heatmap_layout(fig)
    img = np.full((lay["height"], lay["width"], 3), 255, np.uint8)
    gx, gy, gw, gh, cell = lay["grid_x"], lay["grid_y"], lay["grid_w"], lay["grid_h"], fig.cell
    cells = _cell_colours(fig.values, fig.colorbar.limits)
    img[gy:gy + gh, gx:gx + gw] = cv2.resize(cells, (gw, gh), interpolation=cv2.INTER_NEAREST)
    cv2.rectangle(img, (gx, gy), (gx + gw - 1, gy + gh - 1), BLACK, 1)
    for value, label in fig.y.ticks:
        tw, _ = text_size(label)
        put_text(img, label, (gx - 6 - tw, int(gy + value * cell + cell // 2 + 4)))
    for value, label in fig.x.ticks:
        tw, _ = text_size(label)
        put_vertical(img, label, (int(gx + value * cell + cell // 2), gy + gh + 6 + tw // 2 + 2))
    lo, hi = fig.colorbar.limits
    for (r, c), text in fig.annotations.items():
        dark = (fig.values[r, c] - lo) / (hi - lo) > 0.5
        put_text(img, text, (gx + c * cell + 3, gy + r * cell + cell // 2 + 4), 0.35,
                 WHITE if dark else BLACK)
    _title(img, fig.title)
    tw, _ = text_size(fig.x.label, 0.45)
    put_text(img, fig.x.label, (gx + (gw - tw) // 2, lay["height"] - 8), 0.45)
    put_vertical(img, fig.y.label, (12, gy + gh // 2), 0.45)
    _colorbar(img, fig, lay)
    return img


def render(fig) -> np.ndarray:
    """Draw a :class:`LineFigure` or :class:`HeatmapFigure`."""
    if isinstance(fig, HeatmapFigure):
        return render_heatmap(fig)
    if isinstance(fig, LineFigure):
        return render_line(fig)
    raise TypeError(f"cannot draw a {type(fig).__name__}")


def render_stack(figs: List) -> np.ndarray:
    """Figures drawn one below the other (padded to the widest)."""
    images = [render(f) for f in figs]
    width = max(i.shape[1] for i in images)
    padded = [cv2.copyMakeBorder(i, 0, 0, 0, width - i.shape[1], cv2.BORDER_CONSTANT, value=WHITE)
              for i in images]
    return np.concatenate(padded, axis=0)
