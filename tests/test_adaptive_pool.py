"""Adaptive average pooling as matmuls (layers/adaptive_pool.py): Paddle's result at any size.

The ONNX side (paddle2onnx converts it on dynamic shapes, onnxruntime agrees) is in test_export.py.
"""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.static import InputSpec

from paddleseg.models.layers import SumPyramidPooling, adaptive_avg_pool2d
from paddleseg.models.layers.adaptive_pool import adaptive_pool_matrix

BINS = [1, 2, 3, 6, (2, 3)]


@pytest.mark.parametrize("h, w", [(7, 13), (17, 33), (2, 5), (1, 1), (16, 32)])
def test_equals_paddles_adaptive_pooling_at_odd_sizes(h, w):
    # (2, 5) and (1, 1): fewer pixels than bins, cells then repeat pixels as Paddle's do.
    x = paddle.randn([2, 3, h, w])
    for bins in BINS:
        np.testing.assert_allclose(adaptive_avg_pool2d(x, bins).numpy(),
                                   F.adaptive_avg_pool2d(x, bins).numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_equals_paddles():
    x = paddle.randn([1, 2, 17, 33])
    grads = []
    for pool in (adaptive_avg_pool2d, F.adaptive_avg_pool2d):
        leaf = x.clone()
        leaf.stop_gradient = False
        (pool(leaf, 6) * paddle.arange(72, dtype="float32").reshape([1, 2, 6, 6])).sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_matrix_rows_follow_paddles_bin_rule():
    # 7 rows, 3 cells: cell i averages rows floor(7i/3) .. ceil(7(i+1)/3) - 1 -> 0-2, 2-4, 4-6.
    want = np.zeros((3, 7), "float32")
    for row, (lo, hi) in enumerate([(0, 3), (2, 5), (4, 7)]):
        want[row, lo:hi] = 1.0 / (hi - lo)
    np.testing.assert_allclose(adaptive_pool_matrix(7, 3).numpy(), want)
    # The in-graph form (an integer shape element) builds the same matrix.
    np.testing.assert_allclose(adaptive_pool_matrix(paddle.to_tensor(7, "int64"), 3).numpy(), want)


def test_dynamic_shape_conversion_is_exact_at_every_size():
    class Pool(paddle.nn.Layer):
        def forward(self, x):
            return [adaptive_avg_pool2d(x, b) for b in BINS]
    spec = [InputSpec([None, 3, None, None], "float32", "x")]
    static = paddle.jit.to_static(Pool(), input_spec=spec, full_graph=True)
    for shape in ([1, 3, 7, 13], [2, 3, 17, 33], [1, 3, 2, 5]):
        x = paddle.randn(shape)
        for got, bins in zip(static(x), BINS):
            want = F.adaptive_avg_pool2d(x, bins).numpy()
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_invalid_output_size_is_named():
    with pytest.raises(ValueError, match=r"output_size=\(0, 2\)"):
        adaptive_avg_pool2d(paddle.randn([1, 1, 4, 4]), (0, 2))


def test_pyramid_pooling_output_and_parameters_unchanged():
    """ICNet's pyramid pooling gives what it gave with F.adaptive_avg_pool2d; no new parameters."""
    paddle.seed(0)
    layer = SumPyramidPooling(8, 4)
    layer.eval()
    x = paddle.randn([1, 8, 17, 33])
    with paddle.no_grad():
        old = x + sum(F.interpolate(F.adaptive_avg_pool2d(x, b), size=[17, 33], mode="bilinear",
                                    align_corners=False) for b in (1, 2, 3, 6))
        want = layer.project(old).numpy()
        np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)
    # Same state_dict keys as before: only the 1x1 projection is learned (checkpoints still load).
    assert list(layer.state_dict()) == ["project." + k for k in layer.project.state_dict()]
