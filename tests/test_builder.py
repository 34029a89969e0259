"""SegBuilder: recursive building, argument checks before construction, dataset syncing,
lazy per-use validation, and error messages naming key path, component and file."""
import os
import textwrap
from typing import List, Optional, Sequence, Tuple

import paddle
import pytest

from paddleseg.cvlibs import ComponentBuildError, Config, ConfigError, SegBuilder, manager
from paddleseg.cvlibs import builder as builder_module

HERE = os.path.dirname(os.path.abspath(__file__))
DUMMY = os.path.join(HERE, "configs", "dummy")
TRAIN = os.path.join(DUMMY, "train.yml")
BASE = os.path.join(DUMMY, "base.yml")
VAL_ONLY = os.path.join(DUMMY, "val_only.yml")


# ------------------------------------------------------- dummy components
def _register(registry, component):
    if component.__name__ not in registry:
        registry.add_component(component)
    return component


class _TestBackbone(paddle.nn.Layer):
    def __init__(self, in_channels: int = 3, output_stride: int = 8,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        self.in_channels, self.output_stride = in_channels, output_stride
        self.conv = paddle.nn.Conv2D(in_channels, 4, 3)


def _TestBackboneFactory(**kwargs) -> _TestBackbone:
    return _TestBackbone(**kwargs)


def _TestBackboneOpaque(**kwargs):
    return _TestBackbone(**kwargs)


class _TestModel(paddle.nn.Layer):
    def __init__(self, num_classes: int, backbone: paddle.nn.Layer, mid_channels: int = 8,
                 scale: float = 1.0, align_corners: bool = False,
                 crop: Tuple[int, int] = (4, 4), pretrained: Optional[str] = None) -> None:
        super().__init__()
        self.num_classes, self.backbone, self.scale, self.crop = num_classes, backbone, scale, crop
        self.head = paddle.nn.Conv2D(4, num_classes, 1)


class _TestFailingModel(paddle.nn.Layer):
    def __init__(self, num_classes: int, depth: int = 3) -> None:
        super().__init__()
        raise ValueError(f"depth {depth} is not supported")


class _TestDataset(paddle.io.Dataset):
    NUM_CLASSES = 5
    IGNORE_INDEX = 255
    IMG_CHANNELS = 3

    def __init__(self, dataset_root: str, transforms: list, mode: str = "train",
                 num_samples: int = 4) -> None:
        self.transforms, self.mode, self.num_samples = transforms, mode, num_samples

    def __len__(self) -> int:
        return self.num_samples


class _TestGrayDataset(_TestDataset):
    NUM_CLASSES = 2
    IMG_CHANNELS = 1
    IGNORE_INDEX = 0


class _TestTransform:
    def __init__(self, size: Sequence[int] = (8, 8), prob: float = 0.5) -> None:
        self.size, self.prob = size, prob


class _TestLoss(paddle.nn.Layer):
    def __init__(self, ignore_index: int = 255, weight: Optional[List[float]] = None) -> None:
        super().__init__()
        self.ignore_index, self.weight = ignore_index, weight


class _TestMultiOutputLoss:
    def __init__(self, types: list, coef: list) -> None:
        self.types, self.coef = types, coef


for _reg, _comp in [(manager.BACKBONES, _TestBackbone), (manager.BACKBONES, _TestBackboneFactory),
                    (manager.BACKBONES, _TestBackboneOpaque), (manager.MODELS, _TestModel),
                    (manager.MODELS, _TestFailingModel), (manager.DATASETS, _TestDataset),
                    (manager.DATASETS, _TestGrayDataset), (manager.TRANSFORMS, _TestTransform),
                    (manager.LOSSES, _TestLoss)]:
    _register(_reg, _comp)


@pytest.fixture(autouse=True)
def dummy_multi_output_loss(monkeypatch):
    monkeypatch.setattr(builder_module, "_multi_output_loss_class", lambda: _TestMultiOutputLoss)


def write(tmp_path, text, name="cfg.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def model_cfg(tmp_path, model_yaml, dataset="_TestDataset"):
    """A config with ``base.yml`` as base and the given model section."""
    return write(tmp_path, f"_base_: {BASE}\ntrain_dataset: {{type: {dataset}}}\n"
                           f"val_dataset: {{type: {dataset}}}\n" + textwrap.dedent(model_yaml))


# --------------------------------------------------------------- happy paths
def test_full_training_config_builds_everything(capsys):
    b = SegBuilder(Config(TRAIN))
    model = b.model
    assert isinstance(model, _TestModel) and model.num_classes == 5       # from NUM_CLASSES
    assert isinstance(model.backbone, _TestBackbone) and model.backbone.in_channels == 3
    ds = b.train_dataset
    assert len(ds) == 4 and [type(t) for t in ds.transforms] == [_TestTransform] * 2
    assert ds.transforms[0].size == [8, 8] and ds.transforms[1].prob == 1.0
    assert isinstance(ds.transforms[1].prob, float)                     # int -> float
    assert b.val_dataset.mode == "val"
    assert [type(t) for t in b.val_transforms] == [_TestTransform]
    assert b.train_dataset_class is _TestDataset and b.val_dataset_class is _TestDataset
    loss = b.loss
    assert loss.coef == [1.0, 0.4] and len(loss.types) == 2
    assert all(isinstance(l, _TestLoss) and l.ignore_index == 255 for l in loss.types)
    assert b.model is model                                             # cached
    out = capsys.readouterr().out
    assert "Built model: _TestModel(backbone=_TestBackbone(output_stride=8" in out


def test_sgd_with_momentum_becomes_momentum_with_weight_decay():
    # train.yml says `type: sgd` + weight_decay; the base adds momentum 0.9.
    b = SegBuilder(Config(TRAIN))
    opt = b.optimizer
    assert isinstance(opt, paddle.optimizer.Momentum)
    assert opt._momentum == pytest.approx(0.9)
    # Momentum fuses L2 decay into its update op instead of using `regularization`.
    assert opt._regularization_method == "l2_decay"
    assert opt._regularization_coeff == pytest.approx(0.0005)
    assert opt._learning_rate is b.lr_scheduler
    assert isinstance(b.lr_scheduler, paddle.optimizer.lr.PolynomialDecay)
    assert b.lr_scheduler.decay_steps == 20                               # iters


def test_val_only_config_builds_model_but_training_parts_fail_clearly():
    b = SegBuilder(Config(VAL_ONLY))
    assert b.model.num_classes == 5                         # from the val dataset class
    for prop, key in [("optimizer", "optimizer"), ("loss", "loss"),
                      ("lr_scheduler", "lr_scheduler"), ("train_dataset", "train_dataset")]:
        with pytest.raises(ConfigError) as e:
            getattr(b, prop)
        assert f"No `{key}` section in {VAL_ONLY}" in str(e.value)


def test_generic_dataset_values_come_from_its_config(tmp_path):
    path = write(tmp_path, """\
        model: {type: _TestModel, backbone: {type: _TestBackbone}}
        val_dataset: {type: _TestDataset, dataset_root: x, transforms: [], num_classes: 7}
        """)
    # The class attribute wins; a config key is used only when the class has none.
    assert SegBuilder(Config(path)).model.num_classes == 5


def test_in_channels_and_ignore_index_follow_the_dataset(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackboneFactory}}",
                     dataset="_TestGrayDataset")
    b = SegBuilder(Config(path))
    assert b.model.backbone.in_channels == 1 and b.model.num_classes == 2
    assert b.loss.types[0].ignore_index == 0


def test_single_loss_type_is_repeated_for_every_coef(tmp_path):
    path = write(tmp_path, f"_base_: {BASE}\nloss: {{types: [{{type: _TestLoss}}], "
                           "coef: [1, 0.4, 0.2]}\n")
    loss = SegBuilder(Config(path)).loss
    assert len(loss.types) == 3 and len({id(l) for l in loss.types}) == 3


# ------------------------------------------------------------- error messages
def test_unknown_type_names_key_path_file_and_suggestion(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbon}}")
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path)).model
    msg = str(e.value)
    assert "`model.backbone.type`" in msg and path in msg
    assert "did you mean '_TestBackbone'" in msg and "backbones" in msg


def test_unknown_argument_names_component_path_file_and_suggestion(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbone},"
                               " mid_channel: 4}")
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path)).model
    msg = str(e.value)
    assert "Unknown argument 'mid_channel' for _TestModel at 'model.mid_channel'" in msg
    assert path in msg and "Did you mean 'mid_channels'" in msg and "'align_corners'" in msg


def test_unknown_argument_defined_in_base_names_the_base_file(tmp_path):
    path = write(tmp_path, f"""\
        _base_: {TRAIN}
        model: {{backbone: {{type: _TestBackbone}}}}
        """)
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path, opts=["train_dataset.transforms.0.sise=[2,2]"])).train_dataset
    msg = str(e.value)
    assert "'sise' for _TestTransform at 'train_dataset.transforms.0.sise' in --opts" in msg
    assert "Did you mean 'size'" in msg
    with pytest.raises(ConfigError, match=rf"'output_strid' .* in {tmp_path}"):
        SegBuilder(Config(path, opts=[])).build_component(
            {"type": "_TestBackbone", "output_strid": 8}, "model.backbone")


def test_missing_required_argument(tmp_path):
    path = write(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbone}}\n")
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path)).model
    msg = str(e.value)
    assert "_TestModel at 'model'" in msg and "missing the required argument 'num_classes'" in msg
    assert path in msg and "NUM_CLASSES" in msg


@pytest.mark.parametrize("arg,value,expected", [
    ("mid_channels", "eight", "expects int, got 'eight' (str)"),
    ("align_corners", 1, "expects bool, got 1 (int)"),
    ("crop", [4, 4, 4], "expects Tuple[int, int], got [4, 4, 4]"),
    ("scale", "fast", "expects float, got 'fast'"),
    ("pretrained", 3, "expects Optional[str], got 3"),
])
def test_mistyped_arguments(tmp_path, arg, value, expected):
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbone}}")
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path, opts=[f"model.{arg}={value!r}"])).model
    msg = str(e.value)
    assert f"Argument '{arg}' of _TestModel at 'model.{arg}' in --opts {expected}" in msg


def test_accepted_conversions(tmp_path):
    path = model_cfg(tmp_path, """\
        model: {type: _TestModel, backbone: {type: _TestBackbone}, scale: "5e-1", crop: [2, 3]}
        """)
    model = SegBuilder(Config(path)).model
    assert model.scale == 0.5 and model.crop == [2, 3]
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbone}, "
                               "scale: 2}")
    assert isinstance(SegBuilder(Config(path)).model.scale, float)


def test_constructor_exception_is_wrapped_with_context(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestFailingModel, depth: 7}")
    with pytest.raises(ComponentBuildError) as e:
        SegBuilder(Config(path)).model
    msg = str(e.value)
    assert "_TestFailingModel at `model`" in msg and path in msg and "depth 7" in msg
    assert isinstance(e.value.__cause__, ValueError)


def test_factory_function_is_checked_through_its_return_annotation(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestModel, "
                               "backbone: {type: _TestBackboneFactory, stride: 8}}")
    with pytest.raises(ConfigError, match="'stride' for _TestBackboneFactory.*Did you mean"):
        SegBuilder(Config(path)).model
    # Without an annotation nothing can be checked up front; paddle's TypeError is wrapped.
    path = model_cfg(tmp_path, "model: {type: _TestModel, "
                               "backbone: {type: _TestBackboneOpaque, stride: 8}}")
    with pytest.raises(ComponentBuildError, match="_TestBackboneOpaque at `model.backbone`"):
        SegBuilder(Config(path)).model


def test_num_classes_mismatch_with_dataset(tmp_path):
    path = model_cfg(tmp_path, "model: {type: _TestModel, backbone: {type: _TestBackbone}, "
                               "num_classes: 19}")
    with pytest.raises(ConfigError) as e:
        SegBuilder(Config(path)).model
    msg = str(e.value)
    assert "`model.num_classes` is 19" in msg and path in msg
    assert "train_dataset _TestDataset" in msg and "num_classes 5" in msg


def test_train_and_val_datasets_must_agree(tmp_path):
    path = write(tmp_path, f"_base_: {TRAIN}\nval_dataset: {{type: _TestGrayDataset}}\n")
    with pytest.raises(ConfigError, match="disagree on NUM_CLASSES.*_TestDataset.*_TestGrayDataset"):
        SegBuilder(Config(path)).model


def test_loss_errors_name_the_file(tmp_path):
    path = write(tmp_path, f"_base_: {BASE}\nloss: {{types: [{{type: _TestLoss}}, "
                           "{type: _TestLoss}], coef: [1, 0.4, 0.2]}\n")
    with pytest.raises(ConfigError, match=rf"`loss` in {path} has 2 types but 3 coef"):
        SegBuilder(Config(path)).loss
    path = write(tmp_path, f"_base_: {BASE}\nloss: {{types: [{{type: _TestLoss, "
                           "ignore_index: 0}], coef: [1]}\n", "ii.yml")
    with pytest.raises(ConfigError, match=r"`loss.types.0.ignore_index` is 0 .*255"):
        SegBuilder(Config(path)).loss
    path = write(tmp_path, f"_base_: {BASE}\nloss: {{types: [{{type: _TestLos}}], coef: [1]}}\n",
                 "u.yml")
    with pytest.raises(ConfigError, match=r"`loss.types.0.type` .*did you mean '_TestLoss'"):
        SegBuilder(Config(path)).loss


def test_empty_train_dataset_is_an_error(tmp_path):
    path = write(tmp_path, f"_base_: {TRAIN}\ntrain_dataset: {{num_samples: 0}}\n")
    with pytest.raises(ConfigError, match="train_dataset _TestDataset .* has no samples"):
        SegBuilder(Config(path)).train_dataset


def test_component_without_type(tmp_path):
    path = write(tmp_path, "model: {backbone: {type: _TestBackbone}}\n")
    with pytest.raises(ConfigError, match=rf"`model.type` in {path} must be a component name"):
        SegBuilder(Config(path)).model


# --------------------------------------------------------- real components
ENCNET = os.path.join(HERE, "configs", "encnet", "encnet_resnet101_os8_cityscapes_1024x512_80k.yml")


@pytest.mark.skipif(not ("ENCNet" in manager.MODELS and "ResNet18_vd" in manager.BACKBONES
                         and "Cityscapes" in manager.DATASETS),
                    reason="ENCNet / ResNet18_vd / Cityscapes are not registered yet")
def test_real_paddleseg_encnet_config_builds_on_resnet18(monkeypatch):
    monkeypatch.undo()   # the real MultiOutputLoss, not the dummy
    from paddleseg.models.losses import MultiOutputLoss
    cfg = Config(ENCNET, opts=["model.backbone.type=ResNet18_vd",
                               "model.backbone.pretrained=null"])
    b = SegBuilder(cfg)
    model = b.model                        # num_classes comes from Cityscapes.NUM_CLASSES
    model.eval()
    with paddle.no_grad():
        out = model(paddle.rand([1, 3, 64, 64]))
    assert out[0].shape == [1, 19, 64, 64]
    loss = b.loss
    assert isinstance(loss, MultiOutputLoss) and list(loss.coef) == [1.0, 0.4, 0.2]
    assert [type(l).__name__ for l in loss.types] == [
        "CrossEntropyLoss", "CrossEntropyLoss", "SECrossEntropyLoss"]
    assert loss.ignore_index == 255
    opt = b.optimizer                      # `type: sgd` + base momentum -> Momentum
    assert isinstance(opt, paddle.optimizer.Momentum)
    assert opt._regularization_coeff == pytest.approx(0.0005)
    assert b.lr_scheduler.decay_steps == 80000


def test_schedulers_are_registered_and_looked_up_through_the_registry(tmp_path):
    """lr_scheduler.type is found in manager.LR_SCHEDULERS (like optimizers), not by getattr on
    paddle.optimizer.lr: a registered custom scheduler builds, an unregistered paddle one does not."""
    assert "PolynomialDecay" in manager.LR_SCHEDULERS and "LRScheduler" not in manager.LR_SCHEDULERS

    class _TestConstantLR(paddle.optimizer.lr.LRScheduler):
        def get_lr(self):
            return self.base_lr

    _register(manager.LR_SCHEDULERS, _TestConstantLR)
    sched = SegBuilder(Config(write(tmp_path, "lr_scheduler: {type: _TestConstantLR, learning_rate: 0.5}\n"))).lr_scheduler
    assert isinstance(sched, _TestConstantLR) and sched() == 0.5
    with pytest.raises(ConfigError, match=r"'LRScheduler' is not a registered lr_schedulers"):
        SegBuilder(Config(write(tmp_path, "lr_scheduler: {type: LRScheduler}\n", "b.yml"))).lr_scheduler


@pytest.mark.parametrize("cfg,expected", [
    ({"type": "SGD", "momentum": 0.9}, "Momentum"), ({"type": "sgd", "momentum": 0.9}, "Momentum"),
    ({"type": "sgd"}, "SGD"), ({"type": "adam"}, "Adam"), ({"type": "Momentum"}, "Momentum"),
    ({"type": "AdamW", "momentum": 0.9}, "AdamW")])
def test_optimizer_naming_rules_live_in_one_function(cfg, expected):
    assert builder_module.optimizer_type(cfg) == expected


@pytest.mark.parametrize("key_path,registry", [
    ("model", "models"), ("model.backbone", "backbones"), ("loss.types.2", "losses"),
    ("loss.types.0.losses.1", "losses"), ("optimizer", "optimizers"), ("val_dataset", "datasets"),
    ("train_dataset.transforms.3", "transforms"), ("model.head", None), ("model.backbone.extra", None)])
def test_unknown_type_suggestions_come_from_the_section_table(key_path, registry):
    """The registry for a did-you-mean comes from manager.SECTION_REGISTRIES, not a guess."""
    found = SegBuilder(Config(TRAIN))._expected_registry(key_path)
    assert (found.name if found is not None else None) == registry
