"""Component registries.

Every buildable class (model, backbone, dataset, transform, loss, optimizer) registers itself
in one of the managers below with ``@manager.MODELS.add_component``. The config layer looks a
YAML ``type:`` up here; an unknown name raises ``KeyError`` listing the closest registered names.

The packages whose classes register themselves are imported on the first lookup in any registry
(:func:`load_components`), so importing a light module (the CLI helpers) never pulls in Paddle,
and a registry is never seen half-filled whichever module was imported first.
"""
from __future__ import annotations

import importlib
from typing import Callable, Dict, List, Optional, Sequence, TypeVar, Union

from .errors import close_matches, did_you_mean

T = TypeVar("T")

# The packages whose modules register components, in the order they are imported.
COMPONENT_PACKAGES = ("paddleseg.models", "paddleseg.datasets", "paddleseg.transforms", "paddleseg.optimizers")
_loaded = False


def load_components() -> None:
    """Import :data:`COMPONENT_PACKAGES` once (their imports fill the registries)."""
    global _loaded
    if _loaded:
        return
    _loaded = True      # first: the imports below register into the managers, which call us back
    for package in COMPONENT_PACKAGES:
        importlib.import_module(package)


class ComponentManager:
    """A name -> class (or function) registry.

    Args:
        name: what the registry holds ("models", "backbones", ...), used in error messages.
    """

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._components_dict: Dict[str, Callable] = {}

    def __len__(self) -> int:
        return len(self.components_dict)

    def __repr__(self) -> str:
        return f"{self._name or self.__class__.__name__}:{list(self.components_dict)}"

    def __contains__(self, item: str) -> bool:
        return item in self.components_dict

    def __getitem__(self, item: str) -> Callable:
        if item not in self.components_dict:
            raise KeyError(self.unknown_message(item))
        return self._components_dict[item]

    @property
    def name(self) -> str:
        return self._name

    @property
    def components_dict(self) -> Dict[str, Callable]:
        """Every registered component (importing the registering packages on first use)."""
        load_components()
        return self._components_dict

    def close_matches(self, item: str, n: int = 3) -> List[str]:
        """Registered names that look like ``item`` (case-insensitive), best first."""
        return close_matches(item, self.components_dict, n=n)

    def unknown_message(self, item: str) -> str:
        """``'X' is not a registered models; did you mean ...?`` (or the registered names)."""
        hint = did_you_mean(item, self.components_dict, clause=True) or \
            f"; registered: {sorted(self.components_dict)}"
        return f"'{item}' is not a registered {self._name or 'component'}{hint}"

    def _add_single_component(self, component: T) -> T:
        if not callable(component):
            raise TypeError(f"Expected a class or function to register, got {type(component).__name__}")
        name = component.__name__
        if name in self._components_dict:
            # Re-registering the same object (module re-import) is harmless; two different
            # objects under one name would make configs ambiguous.
            existing = self._components_dict[name]
            if getattr(existing, "__module__", None) != getattr(component, "__module__", None) or \
                    getattr(existing, "__qualname__", None) != getattr(component, "__qualname__", None):
                raise KeyError(f"{name} is already registered in {self._name} by {existing.__module__}")
        self._components_dict[name] = component
        return component

    def add_component(self, components: Union[T, Sequence[T]]) -> Union[T, Sequence[T]]:
        """Register one class/function or a sequence of them; usable as a decorator."""
        if isinstance(components, (list, tuple)):
            for component in components:
                self._add_single_component(component)
            return components
        return self._add_single_component(components)


MODELS = ComponentManager("models")
BACKBONES = ComponentManager("backbones")
DATASETS = ComponentManager("datasets")
TRANSFORMS = ComponentManager("transforms")
LOSSES = ComponentManager("losses")
OPTIMIZERS = ComponentManager("optimizers")
LR_SCHEDULERS = ComponentManager("lr_schedulers")  # filled by cvlibs/lr_scheduler.py

# Which registry a component in each config section comes from (key paths without list indices),
# so an unknown ``type`` is matched against the right names.
SECTION_REGISTRIES = {
    "model": MODELS, "model.backbone": BACKBONES,
    "loss.types": LOSSES, "loss.types.losses": LOSSES,  # MixedLoss's members
    "optimizer": OPTIMIZERS,
    "train_dataset": DATASETS, "val_dataset": DATASETS,
    "train_dataset.transforms": TRANSFORMS, "val_dataset.transforms": TRANSFORMS,
    "Deploy.transforms": TRANSFORMS,  # deploy.yaml
}


def section_registry(key_path: str) -> Optional[ComponentManager]:
    """The registry of the config section ``key_path`` is in (list indices ignored), if known."""
    section = ".".join(p for p in key_path.split(".") if p and not p.isdigit())
    return SECTION_REGISTRIES.get(section)
