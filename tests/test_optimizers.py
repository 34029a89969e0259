"""Optimizer wrappers (weight decay, param groups, grad clip) and lr scheduler building."""
import os
import textwrap

import numpy as np
import paddle
import pytest

from paddleseg.cvlibs import ComponentBuildError, Config, ConfigError, SegBuilder
from paddleseg.optimizers import SGD, Adam, AdamW, Momentum
from paddleseg.utils.errors import UsageError

HERE = os.path.dirname(os.path.abspath(__file__))


class _Net(paddle.nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = paddle.nn.Linear(4, 4)
        self.head = paddle.nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.backbone(x))


def snapshot(model):
    return {n: p.numpy().copy() for n, p in model.named_parameters()}


def one_step(opt, model, scale=1.0):
    paddle.seed(0)
    loss = (model(paddle.rand([3, 4])) * scale).sum()
    loss.backward()
    opt.step()
    opt.clear_grad()


def scheduler(tmp_path, text, **kwargs):
    path = tmp_path / "lr.yml"
    path.write_text(textwrap.dedent(text))
    return SegBuilder(Config(str(path), **kwargs)).lr_scheduler


def lrs_at(sched, steps):
    values, done = {}, 0
    for target in sorted(steps):
        while done < target:
            sched.step()
            done += 1
        values[target] = sched.get_lr() if hasattr(sched, "get_lr") else sched()
    return values


# ------------------------------------------------------------ lr schedulers
def test_polynomial_decay_with_linear_warmup_values(tmp_path):
    sched = scheduler(tmp_path, """\
        iters: 110
        lr_scheduler: {type: PolynomialDecay, learning_rate: 0.01, end_lr: 0, power: 0.9,
                       warmup_iters: 10, warmup_start_lr: 1.0e-4}
        """)
    assert isinstance(sched, paddle.optimizer.lr.LinearWarmup)
    got = lrs_at(sched, [0, 5, 10, 60, 110, 150])

    def expected(t):
        if t < 10:
            return 1e-4 + (0.01 - 1e-4) * t / 10
        return 0.01 * (1 - min(t - 10, 100) / 100) ** 0.9   # decay_steps = iters - warmup
    for t, value in got.items():
        assert value == pytest.approx(expected(t), abs=1e-9), t


def test_polynomial_decay_defaults_to_iters_and_keeps_explicit_decay_steps(tmp_path):
    text = "iters: 50\nlr_scheduler: {type: PolynomialDecay, learning_rate: 0.1, power: 1.0%s}\n"
    assert scheduler(tmp_path, text % "").decay_steps == 50
    assert scheduler(tmp_path, text % ", decay_steps: 7").decay_steps == 7
    assert scheduler(tmp_path, text % "", iters=9).decay_steps == 9


def test_other_paddle_schedulers_and_legacy_learning_rate(tmp_path):
    sched = scheduler(tmp_path, "lr_scheduler: {type: CosineAnnealingDecay, learning_rate: 1,"
                                " T_max: 10}\n")
    assert isinstance(sched, paddle.optimizer.lr.CosineAnnealingDecay)
    assert isinstance(sched.base_lr, float)                     # int 1 -> float
    legacy = SegBuilder(Config(os.path.join(HERE, "configs", "inherit", "legacy_lr.yml")))
    sched = legacy.lr_scheduler
    assert isinstance(sched, paddle.optimizer.lr.PolynomialDecay)
    assert (sched.decay_steps, sched.power, sched.base_lr) == (1000, 0.9, 0.01)


@pytest.mark.parametrize("text,pattern", [
    ("lr_scheduler: {type: PolynomialDecy, learning_rate: 0.1}\niters: 5\n",
     r"`lr_scheduler.type` in .*lr.yml is 'PolynomialDecy'.*is not a registered lr_schedulers; did you mean 'PolynomialDecay'"),
    ("lr_scheduler: {type: PolynomialDecay, learning_rate: 0.1, powr: 2}\niters: 5\n",
     r"Unknown argument 'powr' for PolynomialDecay at 'lr_scheduler.powr' in .*lr.yml"
     r".*Did you mean 'power'"),
    ("lr_scheduler: {type: PolynomialDecay, learning_rate: fast}\niters: 5\n",
     r"'learning_rate' of PolynomialDecay at 'lr_scheduler.learning_rate' .* expects float"),
    ("lr_scheduler: {type: PolynomialDecay, learning_rate: 0.1, warmup_iters: 5}\niters: 5\n",
     r"`lr_scheduler` in .*lr.yml: warmup needs both"),
    ("lr_scheduler: {type: PolynomialDecay, learning_rate: 0.1}\n",
     r"PolynomialDecay in .*lr.yml needs `decay_steps`, or a top-level `iters`"),
    ("lr_scheduler: {type: StepDecay, step_size: 2}\n",
     r"StepDecay at 'lr_scheduler' in .*lr.yml is missing the required argument 'learning_rate'"),
])
def test_scheduler_errors_name_key_and_file(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        scheduler(tmp_path, text)


# --------------------------------------------------------------- optimizers
def test_wrappers_create_the_matching_paddle_optimizers():
    model = _Net()
    sgd = SGD(weight_decay=1e-4)(model, 0.1)
    assert type(sgd) is paddle.optimizer.SGD
    assert sgd.regularization._coeff == pytest.approx(1e-4)
    mom = Momentum(momentum=0.8, use_nesterov=True, weight_decay=4e-5)(model, 0.1)
    assert mom._momentum == pytest.approx(0.8) and mom._use_nesterov is True
    assert mom._regularization_coeff == pytest.approx(4e-5)
    adam = Adam(beta1=0.5)(model, 0.1)
    assert type(adam) is paddle.optimizer.Adam and adam._beta1 == 0.5
    adamw = AdamW()(model, 0.1)
    assert type(adamw) is paddle.optimizer.AdamW and adamw._weight_decay == pytest.approx(0.01)


def test_weight_decay_shrinks_parameters():
    model = _Net()
    before = snapshot(model)
    one_step(SGD(weight_decay=0.5)(model, 0.1), model, scale=0.0)   # gradient = decay only
    after = snapshot(model)
    for name in before:
        np.testing.assert_allclose(after[name], before[name] * (1 - 0.1 * 0.5), rtol=1e-5)


def test_custom_cfg_lr_mult_and_weight_decay_mult_groups():
    model = _Net()
    before = snapshot(model)
    opt = SGD(weight_decay=0.5, custom_cfg=[{"name": "backbone", "lr_mult": 0.0},
                                            {"name": "bias", "weight_decay_mult": 0.0}])(model, 0.1)
    attrs = {n: p.optimize_attr["learning_rate"] for n, p in model.named_parameters()}
    assert attrs == {"backbone.weight": 0.0, "backbone.bias": 0.0,
                     "head.weight": 1.0, "head.bias": 1.0}
    one_step(opt, model, scale=0.0)
    after = snapshot(model)
    np.testing.assert_array_equal(after["backbone.weight"], before["backbone.weight"])  # lr x0
    np.testing.assert_array_equal(after["head.bias"], before["head.bias"])             # no decay
    np.testing.assert_allclose(after["head.weight"], before["head.weight"] * 0.95, rtol=1e-5)


def test_custom_cfg_group_matching_nothing_warns(capsys):
    SGD(custom_cfg=[{"name": "decoder", "lr_mult": 2.0}])(_Net(), 0.1)
    assert "matches no trainable parameter" in capsys.readouterr().err


def test_grad_clip():
    opt = Momentum(grad_clip_cfg={"name": "ClipGradByGlobalNorm", "clip_norm": 1.0})(_Net(), 0.1)
    assert isinstance(opt._grad_clip, paddle.nn.ClipGradByGlobalNorm)
    with pytest.raises(ValueError, match="`grad_clip_cfg.name` .*Did you mean 'ClipGradByNorm'") as err:
        SGD(grad_clip_cfg={"name": "ClipGradByNrm", "clip_norm": 1.0})
    assert not isinstance(err.value, ConfigError)   # the builder adds where (issue 13)
    with pytest.raises(TypeError, match=r"Unknown argument 'clip' for ClipGradByNorm at `grad_clip_cfg.clip`"
                                        r".*Did you mean 'clip_norm'"):
        SGD(grad_clip_cfg={"name": "ClipGradByNorm", "clip": 1.0})


@pytest.mark.parametrize("custom_cfg,pattern", [
    ([{"name": "backbone", "lr_mul": 0.1}], r"custom_cfg.0.*'lr_mul'.*Did you mean 'lr_mult'"),
    ([{"lr_mult": 0.1}], r"custom_cfg.0.* string `name`"),
    ([{"name": "x", "weight_decay_mult": -1}], r"^`custom_cfg.0.weight_decay_mult` must be"),
])
def test_custom_cfg_errors(custom_cfg, pattern):
    # A plain ValueError with the key relative to the optimizer: the builder adds where (issue 13).
    with pytest.raises(ValueError, match=pattern) as err:
        SGD(custom_cfg=custom_cfg)
    assert not isinstance(err.value, ConfigError)


def test_weight_decay_error_is_a_plain_value_error():
    with pytest.raises(ValueError, match=r"^`weight_decay` must be >= 0, got -1") as err:
        SGD(weight_decay=-1)
    assert not isinstance(err.value, ConfigError)


@pytest.mark.parametrize("opt_yaml,key", [
    ("{type: SGD, custom_cfg: [{name: x, weight_decay_mult: -1}]}", "`custom_cfg.0.weight_decay_mult`"),
    ("{type: Momentum, grad_clip_cfg: {name: ClipGradByNorm, clip: 1.0}}", "`grad_clip_cfg.clip`"),
    ("{type: AdamW, weight_decay: -0.5}", "`weight_decay`"),
])
def test_optimizer_argument_errors_from_yaml_name_optimizer_file_and_key(tmp_path, opt_yaml, key):
    path = tmp_path / "bad_opt.yml"
    path.write_text(f"optimizer: {opt_yaml}\n")
    with pytest.raises(ComponentBuildError) as err:
        SegBuilder(Config(str(path))).optimizer
    assert isinstance(err.value, UsageError) and err.value.exit_code == 2
    message = str(err.value)
    assert "`optimizer`" in message and str(path) in message and key in message, message


def test_optimizer_config_errors_go_through_the_builder(tmp_path):
    path = tmp_path / "o.yml"
    path.write_text("optimizer: {type: Momentum, momentun: 0.9}\n")
    with pytest.raises(ConfigError, match=r"'momentun' for Momentum at 'optimizer.momentun' in "
                                          r".*o.yml.*Did you mean 'momentum'"):
        SegBuilder(Config(str(path))).optimizer
    path.write_text("optimizer: {type: SGD, weight_decay: lots}\n")
    with pytest.raises(ConfigError, match=r"'weight_decay' of SGD .* expects Optional\[float\]"):
        SegBuilder(Config(str(path))).optimizer
    path.write_text("optimizer: {type: Adm}\n")
    with pytest.raises(ConfigError, match=r"`optimizer.type` .*did you mean 'Adam'"):
        SegBuilder(Config(str(path))).optimizer
