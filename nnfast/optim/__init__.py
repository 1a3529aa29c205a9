"""Optimizers over ``model.parameters()`` (torch.optim's names, defaults and
update rules, each step one fused kernel call per parameter), the same rules
as functions on arrays (``nnfast.optim.functional``) and learning-rate
schedules."""
from nnfast.optim.base import Optimizer
from nnfast.optim import functional
from nnfast.optim.sgd import SGD
from nnfast.optim.adam import Adam
from nnfast.optim.adamw import AdamW
from nnfast.optim.adagrad import Adagrad
from nnfast.optim.rmsprop import RMSProp, RMSprop
from nnfast.optim.schedules import CosineLR, StepLR

__all__ = ["Optimizer", "functional", "SGD", "Adam", "AdamW", "Adagrad", "RMSProp", "RMSprop",
           "StepLR", "CosineLR"]
