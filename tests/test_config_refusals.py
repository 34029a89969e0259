"""PaddleSeg config keys this framework does not implement are refused (never silently ignored),
and the config layer words key paths and suggestions one way."""
import os
import subprocess
import sys
import textwrap

import pytest

import paddleseg  # noqa: F401  (registers the components)
from paddleseg.cvlibs import Config, ConfigError, SegBuilder, manager
from paddleseg.cvlibs.errors import close_matches, did_you_mean, join_key

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENCNET = os.path.join(ROOT, "tests", "configs", "encnet",
                      "encnet_resnet101_os8_cityscapes_1024x512_80k.yml")


def write(tmp_path, text, name="cfg.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("text, key", [
    ("distill_loss: {types: [{type: KLLoss}], coef: [1]}\n", "distill_loss"),
    ("export: {transforms: [{type: Normalize}]}\n", "export"),
    ("train_dataset: {type: Cityscapes, edge: true}\n", "train_dataset.edge"),
    ("val_dataset: {type: Cityscapes, edge: true}\n", "val_dataset.edge"),
])
def test_unimplemented_keys_are_refused_naming_key_and_file(tmp_path, text, key):
    path = write(tmp_path, "batch_size: 2\n" + text)
    with pytest.raises(ConfigError, match=rf"`{key}` in {path} is not supported: .*remove"):
        Config(path)


def test_refusal_through_base_names_the_defining_file(tmp_path):
    base = write(tmp_path, "train_dataset: {type: Cityscapes, edge: true}\n", "base.yml")
    child = write(tmp_path, "_base_: base.yml\nbatch_size: 2\n", "child.yml")
    with pytest.raises(ConfigError, match=rf"`train_dataset.edge` in {base} "):
        Config(child)


def test_refusal_from_opts_names_opts():
    with pytest.raises(ConfigError, match=r"`train_dataset.edge` in --opts is not supported"):
        Config(ENCNET, opts=["train_dataset.edge=True"])
    with pytest.raises(ConfigError, match=r"`export` in --opts is not supported"):
        Config(ENCNET, opts=["export.transforms=[]"])


def test_inactive_values_of_refused_keys_still_load(tmp_path):
    path = write(tmp_path, "export: {}\ntrain_dataset: {type: Cityscapes, edge: false}\n")
    cfg = Config(path)
    assert cfg.export_config == {} and cfg.train_dataset_cfg["edge"] is False


def test_mixed_loss_is_refused_with_what_to_write_instead(tmp_path):
    path = write(tmp_path, "loss:\n  types:\n    - type: MixedLoss\n"
                           "      losses: [{type: CrossEntropyLoss}, {type: DiceLoss}]\n"
                           "      coef: [0.8, 0.2]\n  coef: [1]\n")
    assert "MixedLoss" not in manager.LOSSES
    with pytest.raises(ConfigError, match=rf"`loss.types.0.type` in {path} is MixedLoss, which "
                                          r"this framework does not have: .*`loss.types`"):
        SegBuilder(Config(path)).loss


@pytest.mark.timeout(60)
def test_cli_prints_the_refusal_in_one_line_with_exit_2(tmp_path):
    path = write(tmp_path, "distill_loss: {types: [{type: KLLoss}], coef: [1]}\n")
    run = subprocess.run([sys.executable, "tools/print_config.py", "--config", path], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"print_config.py: error: `distill_loss` in {path} is not supported: knowledge "
        "distillation is not supported by this framework; remove it")


# ----------------------------------------------------------- one wording for messages
def test_key_paths_and_suggestions_have_one_rule():
    assert join_key("", "model") == "model" and join_key("a.b", 0) == "a.b.0"
    assert did_you_mean("backbon", ["backbone", "head"]) == " Did you mean 'backbone'?"
    assert did_you_mean("backbon", ["backbone"], clause=True) == "; did you mean 'backbone'?"
    assert did_you_mean("zzz", ["backbone"]) == ""
    registry = manager.ComponentManager("things")
    for name in ("ResNet18_vd", "ResNet50_vd", "ENCNet"):
        registry.add_component(type(name, (), {}))
    for word in ("resnet18", "EncNe", "iters", "ResNet"):
        assert registry.close_matches(word) == close_matches(word, registry.components_dict)
