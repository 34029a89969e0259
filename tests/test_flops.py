"""Parameter and MAC counting against hand-computed values."""
import paddle.nn as nn

from paddleseg.models.layers import Encoding
from paddleseg.utils.flops import count_macs, count_parameters


def test_conv_linear_and_custom_layer_macs():
    model = nn.Sequential(nn.Conv2D(3, 8, 3, stride=2, padding=1),          # 8 x 4 x 5 out
                          nn.Conv2D(8, 8, 3, padding=2, dilation=2, groups=4),  # grouped, dilated
                          Encoding(8, 4))
    macs = count_macs(model, [2, 3, 8, 10])
    conv1 = 2 * 8 * 4 * 5 * (3 * 3 * 3)
    conv2 = 2 * 8 * 4 * 5 * (2 * 3 * 3)
    encoding = 2 * 4 * 5 * 8 * (1 + 2 * 4)
    assert macs == {"total": conv1 + conv2 + encoding, "Conv2D": conv1 + conv2, "Encoding": encoding}
    assert count_parameters(model) == (8 * 27 + 8) + (8 * 18 + 8) + (4 * 8 + 4)


def test_linear_and_shared_parameters_count_once():
    fc = nn.Linear(5, 7)
    model = nn.Sequential(fc, nn.ReLU(), fc.__class__(7, 5))
    assert count_macs(model, [3, 5])["Linear"] == 3 * 7 * 5 + 3 * 5 * 7
    shared = nn.LayerList([fc, fc])
    assert count_parameters(shared) == 5 * 7 + 7
