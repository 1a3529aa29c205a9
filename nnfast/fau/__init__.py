"""The classic teaching framework's interface, on nnfast's compiled kernels.

Deep-learning courses have students build a small framework with a fixed
interface (``Layers``, ``Optimization``, ``NeuralNetwork``) and check it
with a course test file. This package provides that interface, module for
module, with the heavy work done by nnfast's kernels, so that the test file
and code written against it run unchanged apart from their imports::

    from nnfast.fau.Layers import *
    from nnfast.fau.Optimization import *
    import nnfast.fau.NeuralNetwork as NeuralNetwork

The names mirror the course's (CamelCase modules, ``input_tensor``,
``error_tensor``) rather than nnfast's own, on purpose. Float64 input stays
float64 end to end; float32 input stays float32 in the layers without
weights and is cast to the weights' dtype (float64 by default) in the others.
"""
# Only the subpackages: binding the NeuralNetwork class here would shadow the
# NeuralNetwork module that ``import nnfast.fau.NeuralNetwork as ...`` expects.
from nnfast.fau import Layers, Optimization

__all__ = ["Layers", "Optimization"]
