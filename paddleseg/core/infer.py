"""Inference: whole image, sliding window, flips and scales, all on the device.

Every path returns N x C x H x W scores at the original image size: logits for a single plain
pass, and for augmented inference the mean over passes of logits (``fuse='logit'``, PaddleSeg
2.8's choice and the default, so its published flip / multi-scale numbers reproduce) or of softmax
probabilities (``fuse='prob'``, mmseg's). Nothing of image size leaves the device: windows are
cut, batched and accumulated as tensors.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import paddle
import paddle.nn.functional as F

from ..utils import logger
from .infer_options import FUSE_MODES, InferOptions  # noqa: F401  (re-exported: its old home)


TRANS_OPS = ("resize", "padding")


def undo_steps(trans_info: Optional[Sequence[Tuple[str, Sequence[int]]]]) -> List[Tuple[str, int, int]]:
    """The recorded size-changing transforms as ``(op, h, w)`` steps to undo, last first.

    Each ``trans_info`` entry is ``(op, (h, w))`` holding the size *before* that op: a ``resize`` is undone
    by resizing back to ``(h, w)``, a ``padding`` by cropping the top-left ``(h, w)``. The one reader of
    the records (scores here, class-id maps in tools/infer.py); an unknown op is an error, never skipped.
    """
    steps = []
    for op, size in reversed(list(trans_info or [])):
        if op not in TRANS_OPS:
            raise ValueError(f"unknown transform record {op!r} in trans_info (known: {', '.join(TRANS_OPS)})")
        steps.append((op, int(size[0]), int(size[1])))
    return steps


def reverse_transform(logits: paddle.Tensor, trans_info: Sequence[Tuple[str, Sequence[int]]],
                      mode: str = "bilinear") -> paddle.Tensor:
    """Undo the recorded size-changing transforms on N x C x H x W scores (see :func:`undo_steps`)."""
    for op, h, w in undo_steps(trans_info):
        if op == "resize":
            if mode == "nearest":
                logits = F.interpolate(logits, size=[h, w], mode="nearest")
            else:
                logits = F.interpolate(logits, size=[h, w], mode=mode, align_corners=False)
        else:
            logits = logits[:, :, :h, :w]
    return logits


def model_logits(model: paddle.nn.Layer, img: paddle.Tensor) -> paddle.Tensor:
    """The model's first (main) output."""
    outputs = model(img)
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(f"{type(model).__name__}.forward must return a list of outputs, got {type(outputs).__name__}")
    return outputs[0]


def slide_windows(height: int, width: int, crop_size: Tuple[int, int],
                  stride: Tuple[int, int]) -> List[Tuple[int, int, int, int]]:
    """Windows ``(y1, y2, x1, x2)`` covering the image; the last row/column is shifted back so
    every window lies inside the image and, when the image is at least the crop, has the crop's
    size (PaddleSeg's and mmseg's placement)."""
    crop_w, crop_h = crop_size
    stride_w, stride_h = stride

    def starts(size: int, crop: int, step: int) -> List[Tuple[int, int]]:
        count = max(-(-(size - crop) // step), 0) + 1
        spans = []
        for i in range(count):
            end = min(i * step + crop, size)
            spans.append((max(end - crop, 0), end))
        return spans
    return [(y1, y2, x1, x2) for y1, y2 in starts(height, crop_h, stride_h) for x1, x2 in starts(width, crop_w, stride_w)]


def merge_windows(window_logits: Sequence[paddle.Tensor], windows: Sequence[Tuple[int, int, int, int]],
                  height: int, width: int) -> paddle.Tensor:
    """Mean of overlapping window logits over a ``height`` x ``width`` image.

    The window edges cut the image into a grid of cells that each window covers entirely or not at
    all; a cell is the mean of the matching slices of the windows over it, and the cells are
    concatenated back into the image. Every output value is written once, with no read-modify-write
    of a full-size accumulator: on CPU, Paddle's strided ``t[..., y1:y2, x1:x2] += w`` costs 3-4x
    more than this (measured for three 512x512 windows over 1024x512), and the sums and their order
    are the same, so the result is identical.
    """
    ys = sorted({v for w in windows for v in w[:2]})
    xs = sorted({v for w in windows for v in w[2:]})
    if ys[0] != 0 or ys[-1] != height or xs[0] != 0 or xs[-1] != width:
        raise ValueError(f"windows {list(windows)} do not cover the {height}x{width} image")
    rows = []
    for cy0, cy1 in zip(ys[:-1], ys[1:]):
        row = []
        for cx0, cx1 in zip(xs[:-1], xs[1:]):
            parts = [logits[:, :, cy0 - y1:cy1 - y1, cx0 - x1:cx1 - x1]
                     for logits, (y1, y2, x1, x2) in zip(window_logits, windows)
                     if y1 <= cy0 and cy1 <= y2 and x1 <= cx0 and cx1 <= x2]
            if not parts:
                raise ValueError(f"no window covers rows {cy0}..{cy1}, columns {cx0}..{cx1}")
            cell = parts[0]
            for part in parts[1:]:
                cell = cell + part
            row.append(cell / float(len(parts)) if len(parts) > 1 else cell)
        rows.append(paddle.concat(row, axis=3) if len(row) > 1 else row[0])
    return paddle.concat(rows, axis=2) if len(rows) > 1 else rows[0]


# Crop sizes already reported as larger than an image: said once per process, not once per image.
_CROPS_NOTED: set = set()


def _note_crop_exceeds_image(crop_size: Tuple[int, int], height: int, width: int) -> None:
    """Log (once per crop size) that windows are clipped to an image smaller than the crop."""
    if tuple(crop_size) in _CROPS_NOTED:
        return
    _CROPS_NOTED.add(tuple(crop_size))
    sides = [side for side, crop, size in (("width", crop_size[0], width),
                                           ("height", crop_size[1], height)) if crop > size]
    whole = "whole-image inference" if len(sides) == 2 else f"one window across the {sides[0]}"
    logger.info(f"Slide crop {crop_size[0]}x{crop_size[1]} (WxH) is larger than the image "
                f"({width}x{height}) in {' and '.join(sides)}: windows are clipped to the image, "
                f"so this is {whole}. "
                "Said once; other images like this are not reported.")


def slide_inference(model: paddle.nn.Layer, img: paddle.Tensor, crop_size: Tuple[int, int],
                    stride: Tuple[int, int], crops_per_batch: int = 4) -> paddle.Tensor:
    """Mean logits over overlapping windows (N x C x H x W, the input's size).

    Windows are stacked and run ``crops_per_batch`` at a time; their logits stay on the device and
    are merged by :func:`merge_windows` (each pixel: the mean over the windows covering it).
    """
    n, _, height, width = img.shape
    if crop_size[0] > width or crop_size[1] > height:
        _note_crop_exceeds_image(crop_size, height, width)
    windows = slide_windows(height, width, crop_size, stride)
    window_logits: List[paddle.Tensor] = []
    for start in range(0, len(windows), crops_per_batch):
        chunk = windows[start:start + crops_per_batch]
        crops = paddle.concat([img[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in chunk], axis=0)
        logits = model_logits(model, crops)
        window_logits.extend(logits[i * n:(i + 1) * n] for i in range(len(chunk)))
    return merge_windows(window_logits, windows, height, width)


def _single_pass(model: paddle.nn.Layer, img: paddle.Tensor, options: InferOptions) -> paddle.Tensor:
    if options.is_slide:
        return slide_inference(model, img, options.crop_size, options.stride, options.crops_per_batch)
    return model_logits(model, img)


def _flip_axes(options: InferOptions) -> List[List[int]]:
    axes: List[List[int]] = [[]]
    if options.flip_horizontal:
        axes.append([3])
    if options.flip_vertical:
        axes.append([2])
    if options.flip_horizontal and options.flip_vertical:
        axes.append([2, 3])
    return axes


def aug_inference(model: paddle.nn.Layer, img: paddle.Tensor, options: InferOptions) -> paddle.Tensor:
    """Mean over scales x flips of logits (or softmax probabilities), at the input's size."""
    height, width = img.shape[2], img.shape[3]
    total: Optional[paddle.Tensor] = None
    passes = 0
    for scale in options.scales:
        size = [int(height * scale + 0.5), int(width * scale + 0.5)]
        scaled = img if scale == 1.0 else F.interpolate(img, size=size, mode="bilinear", align_corners=False)
        for axes in _flip_axes(options):
            out = _single_pass(model, paddle.flip(scaled, axes) if axes else scaled, options)
            if axes:
                out = paddle.flip(out, axes)
            if scale != 1.0:
                out = F.interpolate(out, size=[height, width], mode="bilinear", align_corners=False)
            if options.fuse == "prob":
                out = F.softmax(out, axis=1)
            total = out if total is None else total + out
            passes += 1
    return total / passes


def inference(model: paddle.nn.Layer, img: paddle.Tensor, trans_info=None,
              ori_shape: Optional[Tuple[int, int]] = None, options: Optional[InferOptions] = None) -> paddle.Tensor:
    """Scores (N x C x H x W) for a batch of same-size images, at the original image size.

    ``trans_info`` (one image's records; the batch shares them) undoes resize/padding transforms;
    ``ori_shape`` then resizes to the label's size if it still differs.
    """
    options = options or InferOptions()
    scores = aug_inference(model, img, options) if options.aug else _single_pass(model, img, options)
    if trans_info:
        scores = reverse_transform(scores, trans_info)
    if ori_shape is not None and tuple(scores.shape[-2:]) != tuple(ori_shape):
        scores = F.interpolate(scores, size=list(ori_shape), mode="bilinear", align_corners=False)
    return scores
