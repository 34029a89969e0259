import pytest

from paddleseg.cvlibs.manager import ComponentManager


def test_register_and_lookup_with_suggestions():
    reg = ComponentManager("models")

    @reg.add_component
    class ENCNetToy:
        pass

    reg.add_component([type("ResNet18Toy", (), {}), type("ResNet50Toy", (), {})])
    assert reg["ENCNetToy"] is ENCNetToy
    assert "ResNet18Toy" in reg and len(reg) == 3
    with pytest.raises(KeyError) as e:
        reg["EncNetToy"]
    assert "did you mean 'ENCNetToy'" in str(e.value)
    with pytest.raises(KeyError) as e:
        reg["Unrelated"]
    assert "registered:" in str(e.value)


def test_duplicate_name_from_another_class_is_an_error():
    reg = ComponentManager("losses")
    reg.add_component(type("Dup", (), {"__module__": "a"}))
    with pytest.raises(KeyError, match="already registered"):
        reg.add_component(type("Dup", (), {"__module__": "b"}))


# Registration-only checks, one place: each component is reachable under its name (models: the class itself).
@pytest.mark.parametrize("registry,name,module", [
    ("MODELS", "ENCNet", "paddleseg.models"),
    ("MODELS", "ICNet", "paddleseg.models"),
    ("LOSSES", "CrossEntropyLoss", None),
    ("LOSSES", "SECrossEntropyLoss", None),
    ("LOSSES", "MultiOutputLoss", None),
])
def test_component_is_registered(registry, name, module):
    import importlib

    import paddleseg  # noqa: F401  (importing the package registers every component)
    from paddleseg.cvlibs import manager
    assert name in getattr(manager, registry)
    if module:
        assert getattr(manager, registry)[name] is getattr(importlib.import_module(module), name)
