"""Pairs a model's list of outputs with one loss and one coefficient each."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import paddle
import paddle.nn as nn

from paddleseg.cvlibs import manager


@manager.LOSSES.add_component
class MultiOutputLoss(nn.Layer):
    """Weighted sum of per-output losses: total = sum_i coef[i] * types[i](logits[i], label).

    Args:
        types: one loss layer per model output, in output order.
        coef: one weight per loss.

    ``forward`` returns ``(total, per_output)`` where ``per_output[i]`` is the WEIGHTED value
    coef[i] * loss_i (what the total sums, and what PaddleSeg logs per output).

    It also reads like PaddleSeg's loss dict (``loss['types']``, ``loss['coef']``) so older
    training scripts keep working. Setting ``ignore_index`` sets it on every wrapped loss.
    """

    def __init__(self, types: Sequence[nn.Layer], coef: Sequence[float]) -> None:
        super().__init__()
        if len(types) != len(coef):
            raise ValueError(f"loss has {len(types)} types but {len(coef)} coef values; "
                             f"give one coefficient per loss type")
        self.losses = nn.LayerList(list(types))
        self.coef = [float(c) for c in coef]

    @property
    def types(self) -> List[nn.Layer]:
        return list(self.losses)

    def __getitem__(self, key: str) -> Any:
        if key == "types":
            return self.types
        if key == "coef":
            return self.coef
        raise KeyError(f"MultiOutputLoss has keys 'types' and 'coef', not {key!r}")

    @property
    def ignore_index(self) -> Optional[int]:
        values = {getattr(loss, "ignore_index", None) for loss in self.losses}
        return values.pop() if len(values) == 1 else None

    @ignore_index.setter
    def ignore_index(self, value: int) -> None:
        for loss in self.losses:
            loss.ignore_index = value

    def forward(self, logits_list: Sequence[paddle.Tensor],
                label: paddle.Tensor) -> Tuple[paddle.Tensor, List[paddle.Tensor]]:
        if len(logits_list) != len(self.losses):
            raise ValueError(f"The model produced {len(logits_list)} outputs but {len(self.losses)} losses "
                             f"are configured (loss.types / loss.coef); give one loss per model output")
        per_output = [c * loss(logit, label) for c, loss, logit in zip(self.coef, self.losses, logits_list)]
        return paddle.add_n(per_output), per_output
