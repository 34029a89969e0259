"""Every registered model builds from plain arguments and runs forward and backward."""
import paddle
import pytest

import paddleseg.models  # noqa: F401  (registers the models)
from paddleseg.cvlibs import manager
from paddleseg.models.backbones import ResNet18_vd

# Tiny arguments per registered model. A model registered without an entry here fails
# test_every_model_has_tiny_arguments, so new models cannot skip this check.
TINY_ARGS = {
    "ENCNet": lambda: dict(backbone=ResNet18_vd(output_stride=8), num_codes=4, mid_channels=16,
                           add_lateral=True),
    "ICNet": lambda: dict(backbone=ResNet18_vd(output_stride=8), low_channels=16, fusion_channels=8),
}
# Test modules register throw-away components too; only the package's own are checked here.
REAL_MODELS = sorted(name for name, cls in manager.MODELS.components_dict.items()
                     if cls.__module__.startswith("paddleseg."))


def test_every_model_has_tiny_arguments():
    assert sorted(TINY_ARGS) == REAL_MODELS


@pytest.mark.parametrize("name", REAL_MODELS)
def test_forward_backward_on_a_tiny_input(name):
    paddle.seed(0)
    model = manager.MODELS[name](num_classes=3, **TINY_ARGS[name]())
    model.train()
    outputs = model(paddle.randn([2, 3, 64, 48]))
    assert len(outputs) >= 2  # main + deep-supervision outputs in training
    sum(o.mean() for o in outputs).backward()
    grads = [p.grad for p in model.parameters() if not p.stop_gradient]
    assert sum(g is not None for g in grads) > 0.9 * len(grads)
    model.eval()
    with paddle.no_grad():
        (out,) = model(paddle.randn([1, 3, 64, 48]))
    assert list(out.shape) == [1, 3, 64, 48]
