"""Shared check: a model converted with dynamic N/H/W gives the dygraph model's output."""
from typing import Sequence

import numpy as np
import paddle
from paddle.static import InputSpec


def assert_static_matches_dynamic(model: paddle.nn.Layer, shapes: Sequence[Sequence[int]],
                                  num_classes: int, tol: float = 1e-5) -> None:
    """Converts ``model`` (eval mode) with one dynamic-shape InputSpec and compares both on ``shapes``."""
    model.eval()
    static = paddle.jit.to_static(model, input_spec=[InputSpec([None, 3, None, None], "float32", "x")],
                                  full_graph=True)
    for shape in shapes:
        x = paddle.randn(list(shape))
        with paddle.no_grad():
            expected = model(x)[0].numpy()
            got = static(x)[0].numpy()
        assert got.shape == (shape[0], num_classes) + tuple(shape[2:])
        np.testing.assert_allclose(got, expected, atol=tol, rtol=tol)
