"""Encoding layer: the matmul form equals the naive N x HW x K x C formula, values and gradients."""
import numpy as np
import paddle
import pytest
from paddle.static import InputSpec

from paddleseg.models.layers import Encoding


@pytest.fixture
def float64():
    paddle.set_default_dtype("float64")
    try:
        yield
    finally:
        paddle.set_default_dtype("float32")


def naive_encoding(x, codewords, scale):
    """The paper's formula, materialising x_i - d_k (N x HW x K x C)."""
    n, c = x.shape[0], x.shape[1]
    k = codewords.shape[0]
    xs = x.reshape([n, c, -1]).transpose([0, 2, 1])                          # N x HW x C
    diff = xs.unsqueeze(2).tile([1, 1, k, 1]) - codewords.reshape([1, 1, k, c])
    assign = paddle.nn.functional.softmax(scale.reshape([1, 1, k]) * (diff ** 2).sum(-1), axis=2)
    return (assign.unsqueeze(3) * diff).sum(1)


def test_forward_and_gradients_match_naive(float64):
    paddle.seed(1)
    layer = Encoding(channels=6, num_codes=5)
    assert layer.codewords.dtype == paddle.float64
    x = paddle.randn([2, 6, 3, 4])
    x.stop_gradient = False
    ours = layer(x)
    ref = naive_encoding(x, layer.codewords, layer.scale)
    assert list(ours.shape) == [2, 5, 6]
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)
    # A non-uniform upstream gradient so every output element matters.
    w = paddle.randn(ours.shape)
    inputs = [x, layer.codewords, layer.scale]
    g_ours = paddle.grad((ours * w).sum(), inputs)
    g_ref = paddle.grad((ref * w).sum(), inputs)
    for a, b in zip(g_ours, g_ref):
        assert float(paddle.abs(b).max().item()) > 0
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-11)


def test_parameters_and_init_ranges():
    layer = Encoding(channels=64, num_codes=16)
    assert [list(p.shape) for p in (layer.codewords, layer.scale)] == [[16, 64], [16]]
    bound = 1 / np.sqrt(16 * 64)
    assert np.abs(layer.codewords.numpy()).max() <= bound
    assert layer.scale.numpy().max() <= 0 and layer.scale.numpy().min() >= -1
    assert sorted(layer.state_dict()) == ["codewords", "scale"]


def test_descriptor_on_a_codeword_stays_finite():
    layer = Encoding(channels=4, num_codes=3)
    # x equal to codeword 0 (large norm) makes ||x||^2 - 2x.d + ||d||^2 cancel to ~0 or below.
    with paddle.no_grad():
        layer.codewords.set_value(layer.codewords * 1000)
    x = layer.codewords[0].reshape([1, 4, 1, 1]).tile([1, 1, 2, 2])
    out = layer(x)
    assert np.isfinite(out.numpy()).all()


def test_wrong_channel_count_is_reported():
    with pytest.raises(ValueError, match="8 input channels, got 5"):
        Encoding(channels=8, num_codes=2)(paddle.randn([1, 5, 2, 2]))


# Tracing a layer in train mode builds its backward program, where Paddle's own full_like reads
# `.place` of a static value and warns: Paddle-internal, not this layer's code.
@pytest.mark.filterwarnings("ignore:Tensor do not have 'place' interface:UserWarning")
def test_to_static_dynamic_spatial_size():
    layer = Encoding(channels=8, num_codes=4)
    static = paddle.jit.to_static(layer, input_spec=[InputSpec([None, 8, None, None], "float32")],
                                  full_graph=True)
    for shape in ([1, 8, 5, 7], [3, 8, 9, 2]):
        x = paddle.randn(shape)
        np.testing.assert_allclose(static(x).numpy(), layer(x).numpy(), rtol=1e-5, atol=1e-6)
