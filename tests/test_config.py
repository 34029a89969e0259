"""Config loading: _base_ inheritance, source tracking, --opts overrides, YAML pitfalls, errors."""
import os
import textwrap

import pytest
import yaml

from paddleseg.cvlibs import Config, ConfigError
from paddleseg.cvlibs.yaml_io import SegYamlLoader, parse_cli_value

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
CHILD = os.path.join(CONFIGS, "inherit", "sub", "child.yml")
PARENT = os.path.join(CONFIGS, "inherit", "parent.yml")
GRAND = os.path.join(CONFIGS, "inherit", "grandparent.yml")
ENCNET = os.path.join(CONFIGS, "encnet", "encnet_resnet101_os8_cityscapes_1024x512_80k.yml")
CITYSCAPES = os.path.join(CONFIGS, "_base_", "cityscapes.yml")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


# ------------------------------------------------------------------ inheritance
def test_nested_bases_merge_dicts_and_replace_lists():
    cfg = Config(CHILD)
    assert cfg.batch_size == 4                      # child
    assert cfg.iters == 200                         # parent over grandparent
    backbone = cfg.dic["model"]["backbone"]
    assert backbone == {"type": "GrandBackbone", "output_stride": 8, "multi_grid": [1, 2]}
    assert cfg.dic["model"]["type"] == "ChildModel"
    assert cfg.dic["train_dataset"] == {"type": "GrandDataset", "transforms": [{"type": "C"}]}


def test_inherited_false_replaces_the_base_dict_and_is_not_kept():
    cfg = Config(CHILD)
    assert cfg.dic["model"]["head"] == {"channels": 64}   # no dropout from grandparent
    assert "_inherited_" not in str(cfg)
    assert "_base_" not in cfg.dic


def test_first_base_wins_over_later_bases_and_file_over_all():
    cfg = Config(os.path.join(CONFIGS, "inherit", "two_bases.yml"))
    assert cfg.batch_size == 1 and cfg.iters == 7
    assert cfg.dic["model"] == {"type": "FirstModel", "depth": 2, "width": 3}


def test_source_of_names_the_defining_file():
    cfg = Config(CHILD, opts=["model.head.channels=32"], iters=5)
    norm = os.path.normpath
    assert cfg.source_of("batch_size") == norm(CHILD)
    assert cfg.source_of("model.backbone.output_stride") == norm(PARENT)
    assert cfg.source_of("model.backbone.type") == norm(GRAND)
    assert cfg.source_of("model.backbone.multi_grid") == norm(CHILD)
    assert cfg.source_of("train_dataset.transforms.0.type") == norm(CHILD)
    assert cfg.source_of("model.head.channels") == "--opts"
    assert cfg.source_of("iters") == "command line"
    # Absent keys fall back to their nearest parent, then to the main file.
    assert cfg.source_of("lr_scheduler.warmup_iters") == norm(GRAND)
    assert cfg.source_of("no_such_key") == CHILD


def test_missing_base_names_referencing_file_and_resolved_path():
    path = os.path.join(CONFIGS, "inherit", "missing_base.yml")
    with pytest.raises(ConfigError) as e:
        Config(path)
    msg = str(e.value)
    assert os.path.normpath(os.path.join(CONFIGS, "no_such_dir", "base.yml")) in msg
    assert "missing_base.yml" in msg


def test_cyclic_bases_are_reported():
    with pytest.raises(ConfigError, match="Cyclic _base_ inheritance.*cycle_a.yml.*cycle_b.yml"):
        Config(os.path.join(CONFIGS, "inherit", "cycle_a.yml"))


def test_bad_base_value_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="_base_.*bad.yml"):
        Config(write(tmp_path, "bad.yml", "_base_: {a: 1}\n"))
    with pytest.raises(FileNotFoundError, match="nope.yml"):
        Config(str(tmp_path / "nope.yml"))


# ---------------------------------------------------------------------- YAML
def test_exponent_floats_load_as_floats(tmp_path):
    path = write(tmp_path, "f.yml", """\
        optimizer: {type: SGD, weight_decay: 5e-4}
        lr_scheduler: {type: PolynomialDecay, learning_rate: 1e-4, end_lr: 1.0E-6, power: 9e0}
        test_config: {quoted: "5e-4", plain_int: 5, dotted: 4.0e-5, word: e5}
        """)
    cfg = Config(path)
    assert cfg.optimizer_cfg["weight_decay"] == pytest.approx(5e-4)
    lr = cfg.lr_scheduler_cfg
    assert isinstance(lr["learning_rate"], float) and lr["learning_rate"] == pytest.approx(1e-4)
    assert lr["end_lr"] == pytest.approx(1e-6) and lr["power"] == 9.0
    t = cfg.test_config
    assert t["quoted"] == "5e-4" and t["plain_int"] == 5 and isinstance(t["plain_int"], int)
    assert t["dotted"] == pytest.approx(4e-5) and t["word"] == "e5"
    # The dump quotes float-looking strings, so it reads back identically.
    assert yaml.load(str(cfg), Loader=SegYamlLoader) == cfg.dic


def test_loader_is_safe(tmp_path):
    path = write(tmp_path, "evil.yml", "model: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="evil.yml"):
        Config(path)


def test_str_has_no_anchors_and_round_trips(tmp_path):
    path = write(tmp_path, "a.yml", """\
        train_dataset: &ds
          type: D
          transforms: [{type: T}]
        val_dataset: *ds
        """)
    cfg = Config(path)
    text = str(cfg)
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text) == cfg.dic


def test_duplicate_keys_warn(tmp_path, capsys):
    Config(write(tmp_path, "dup.yml", "batch_size: 1\nbatch_size: 2\n"))
    err = capsys.readouterr().err
    assert "Duplicate key 'batch_size'" in err and "dup.yml" in err


# --------------------------------------------------------------------- --opts
def test_parse_cli_value_types():
    assert parse_cli_value("3") == 3
    assert parse_cli_value("5e-4") == pytest.approx(5e-4)
    assert parse_cli_value("True") is True and parse_cli_value("true") is True
    assert parse_cli_value("None") is None and parse_cli_value("null") is None
    assert parse_cli_value("[256,256]") == [256, 256]
    assert parse_cli_value("0.75,1.0,1.25") == [0.75, 1.0, 1.25]   # PaddleSeg's tuple form
    assert parse_cli_value("data/city scapes") == "data/city scapes"
    assert parse_cli_value("ResNet18_vd") == "ResNet18_vd"
    assert parse_cli_value("{a: 1}") == {"a": 1}


def test_opts_override_nested_list_index_and_new_leaf():
    cfg = Config(ENCNET, opts=[
        "batch_size=1", "model.backbone.output_stride=16", "model.backbone.pretrained=null",
        "train_dataset.transforms.1.crop_size=[256,256]", "test_config.scales=0.75,1.0",
        "model.backbone.type=ResNet18_vd", "train_dataset.transforms.-1.mean=[0.5,0.5,0.5]",
        "model.align_corners=False"])
    assert cfg.batch_size == 1
    assert cfg.model_cfg["backbone"] == {"type": "ResNet18_vd", "output_stride": 16,
                                         "pretrained": None}
    assert cfg.train_dataset_cfg["transforms"][1] == {"type": "RandomPaddingCrop",
                                                      "crop_size": [256, 256]}
    assert cfg.train_dataset_cfg["transforms"][4]["mean"] == [0.5, 0.5, 0.5]
    assert cfg.test_config == {"scales": [0.75, 1.0]}
    assert cfg.model_cfg["align_corners"] is False
    assert cfg.source_of("train_dataset.transforms.1.crop_size") == "--opts"
    assert cfg.source_of("train_dataset.transforms.1.type") == os.path.normpath(CITYSCAPES)


def test_opts_missing_parent_names_part_lists_keys_and_suggests():
    with pytest.raises(ConfigError) as e:
        Config(ENCNET, opts=["model.backbon.output_stride=16"])
    msg = str(e.value)
    assert "'backbon'" in msg and "under 'model'" in msg
    assert "Did you mean 'backbone'" in msg and "'num_codes'" in msg
    assert "encnet_resnet101_os8_cityscapes_1024x512_80k.yml" in msg


def test_opts_bad_items_and_indices():
    with pytest.raises(ConfigError, match="key=value"):
        Config(ENCNET, opts=["batch_size"])
    with pytest.raises(ConfigError, match="index 9 is out of range.*train_dataset.transforms"):
        Config(ENCNET, opts=["train_dataset.transforms.9.p=1"])
    with pytest.raises(ConfigError, match="must be an index"):
        Config(ENCNET, opts=["train_dataset.transforms.x.p=1"])
    with pytest.raises(ConfigError, match="'batch_size' holds the value 2"):
        Config(ENCNET, opts=["batch_size.x=1"])


def test_opts_new_leaf_close_to_existing_key_warns(capsys):
    cfg = Config(ENCNET, opts=["model.num_code=8"])
    assert cfg.model_cfg["num_code"] == 8
    assert "Did you mean 'num_codes'" in capsys.readouterr().err


def test_flags_override_and_are_labelled():
    cfg = Config(ENCNET, learning_rate=0.1, batch_size=3, iters=10)
    assert cfg.lr_scheduler_cfg["learning_rate"] == 0.1
    assert (cfg.batch_size, cfg.iters) == (3, 10)
    assert cfg.source_of("lr_scheduler.learning_rate") == "command line"


def test_learning_rate_flag_needs_an_lr_scheduler(tmp_path):
    path = write(tmp_path, "v.yml", "model: {type: M}\n")
    with pytest.raises(ConfigError, match=r"--learning_rate needs an `lr_scheduler`.*v\.yml"):
        Config(path, learning_rate=0.1)


def test_opts_can_create_a_missing_known_section_only():
    cfg = Config(ENCNET, opts=["test_config.scales=[1.0]"])
    assert cfg.test_config == {"scales": [1.0]}
    with pytest.raises(ConfigError, match="no key 'extra'"):
        Config(ENCNET, opts=["extra.x=1"])


# ----------------------------------------------------------- top-level checks
def test_wrong_top_level_types_name_key_and_file(tmp_path):
    path = write(tmp_path, "t.yml", "batch_size: two\n")
    with pytest.raises(ConfigError, match=r"`batch_size` in .*t\.yml must be a positive integer"):
        Config(path)
    path = write(tmp_path, "i.yml", "iters: 1.5\n")
    with pytest.raises(ConfigError, match=r"`iters` in .*i\.yml.*1\.5"):
        Config(path)
    with pytest.raises(ConfigError, match="`iters` in --opts"):
        Config(ENCNET, opts=["iters=0"])
    with pytest.raises(ConfigError, match="`model` in .*m.yml must be a mapping"):
        Config(write(tmp_path, "m.yml", "model: [1, 2]\n"))


def test_unknown_top_level_key_warns_with_suggestion(tmp_path, capsys):
    Config(write(tmp_path, "u.yml", "batch_size: 1\ntrain_datset: {type: X}\n"))
    err = capsys.readouterr().err
    assert "Unknown top-level key 'train_datset'" in err and "u.yml" in err
    assert "Did you mean 'train_dataset'" in err


def test_config_never_demands_training_keys(tmp_path):
    cfg = Config(os.path.join(CONFIGS, "dummy", "val_only.yml"))
    assert cfg.optimizer_cfg == {} and cfg.loss_cfg == {} and cfg.lr_scheduler_cfg == {}
    assert cfg.train_dataset_cfg == {} and cfg.iters is None and cfg.batch_size is None
    assert cfg.val_dataset_cfg["type"] == "_TestDataset"
    assert cfg.export_config == {} and cfg.to_static_training is False


def test_section_properties_are_copies():
    cfg = Config(ENCNET)
    cfg.model_cfg["backbone"]["output_stride"] = 32
    assert cfg.dic["model"]["backbone"]["output_stride"] == 8


# ------------------------------------------------------- PaddleSeg 2.8 configs
def test_paddleseg_encnet_config_loads_unchanged():
    cfg = Config(ENCNET)
    assert (cfg.batch_size, cfg.iters) == (2, 80000)
    model = cfg.model_cfg
    assert model["type"] == "ENCNet" and model["num_codes"] == 32 and model["use_se_loss"] is True
    assert model["backbone"]["pretrained"].endswith("resnet101_vd_ssld.tar.gz")
    assert cfg.optimizer_cfg == {"type": "sgd", "momentum": 0.9, "weight_decay": 0.0005}
    assert [t["type"] for t in cfg.loss_cfg["types"]] == [
        "CrossEntropyLoss", "CrossEntropyLoss", "SECrossEntropyLoss"]
    assert cfg.loss_cfg["coef"] == [1, 0.4, 0.2]
    assert [t["type"] for t in cfg.train_dataset_cfg["transforms"]] == [
        "ResizeStepScaling", "RandomPaddingCrop", "RandomHorizontalFlip", "RandomDistort",
        "Normalize"]
    assert cfg.source_of("optimizer.momentum") == os.path.normpath(CITYSCAPES)
    assert Config(CITYSCAPES).optimizer_cfg["weight_decay"] == pytest.approx(4e-5)


def test_legacy_learning_rate_becomes_polynomial_decay():
    cfg = Config(os.path.join(CONFIGS, "inherit", "legacy_lr.yml"))
    assert "learning_rate" not in cfg.dic
    assert cfg.lr_scheduler_cfg == {"type": "PolynomialDecay", "learning_rate": 0.01,
                                    "end_lr": 0.0, "power": 0.9}


def test_legacy_learning_rate_other_decay_is_rejected(tmp_path):
    path = write(tmp_path, "l.yml", "learning_rate: {value: 0.1, decay: {type: piecewise}}\n")
    with pytest.raises(ConfigError, match="only `type: poly`.*l.yml|l.yml.*only `type: poly`"):
        Config(path)


# ------------------------------------------------------------- print_config
def test_print_config_tool(capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "print_config", os.path.join(HERE, "..", "tools", "print_config.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    assert tool.main(["--config", CHILD, "--opts", "iters=9"]) == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out)["iters"] == 9

    assert tool.main(["--config", CHILD, "--show_source"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(l for l in lines if l.startswith("model.backbone.output_stride = 8"))
    assert line.endswith(os.path.normpath(PARENT))

    with pytest.raises(ConfigError, match="Did you mean 'model'") as info:
        tool.main(["--config", CHILD, "--opts", "modle.x=1"])
    assert info.value.exit_code == 2
