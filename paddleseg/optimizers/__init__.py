"""Optimizer wrappers built from the ``optimizer`` config section (registered in OPTIMIZERS)."""
from .base import BaseOptimizer
from .optimizers import SGD, Adam, AdamW, Momentum

__all__ = ["BaseOptimizer", "SGD", "Momentum", "Adam", "AdamW"]
