"""A few prediction images for VisualDL at each evaluation (image | ground truth | prediction)."""
from __future__ import annotations

from typing import Any

import numpy as np
import paddle

from ..datasets.facts import dataset_facts
from ..utils.visualize import colorize, palette_for
from .infer import inference


def log_predictions(writer: Any, model: paddle.nn.Layer, dataset: paddle.io.Dataset, step: int,
                    num_images: int = 3) -> None:
    """Adds ``Eval/prediction_i`` images: the input (de-normalised by its own min/max), the label
    and the prediction side by side, in the dataset's colours."""
    facts = dataset_facts(dataset)
    palette = palette_for(facts.palette, int(facts.num_classes))
    was_training = model.training
    model.eval()
    with paddle.no_grad():
        for i in range(min(num_images, len(dataset))):
            sample = dataset[i]
            img = sample["img"]
            scores = inference(model, paddle.to_tensor(img[None]), trans_info=sample.get("trans_info"),
                               ori_shape=sample["label"].shape[-2:])
            pred = paddle.argmax(scores, axis=1)[0].numpy()
            label = sample["label"]
            if img.shape[1:] != label.shape:   # resized / padded input: show the label's size
                img = np.zeros((3,) + label.shape, dtype=np.float32)
            lo, hi = float(img.min()), float(img.max())
            rgb = ((img.transpose(1, 2, 0) - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
            if rgb.shape[2] == 1:
                rgb = np.repeat(rgb, 3, axis=2)
            panel = np.concatenate([rgb, colorize(label, palette), colorize(pred, palette)], axis=1)
            writer.add_image(f"Eval/prediction_{i}", panel, step)
    if was_training:
        model.train()
