"""Graph: a directed acyclic network of layers, for networks that are not a line.

    g = nf.Graph()
    x = g.input("image")
    h = g.add(nf.layers.Conv2D(1, 8, 3, padding=1), x)
    h = g.add(nf.layers.ReLU(), h)
    y = g.add(nf.layers.Concat(dim=1), h, x)
    g.output(y)

A node's inputs must exist when it is added, so the graph is acyclic by
construction and insertion order is a topological order: ``forward`` runs the
nodes in it, ``backward`` in reverse, summing the gradients of a node that
feeds several others.
"""
import numpy as np

from nnfast.layers.activations import ReLU
from nnfast.layers.base import Layer


class Node:
    """A value in a ``Graph``: an input (``g.input``) or a layer's output
    (``g.add``). Only its graph may use it."""

    __slots__ = ("graph", "index", "name", "layer", "inputs")

    def __init__(self, graph, index, name, layer=None, inputs=()):
        self.graph = graph
        self.index = index
        self.name = name
        self.layer = layer
        self.inputs = tuple(inputs)

    @property
    def is_input(self):
        return self.layer is None

    def __repr__(self):
        what = "input" if self.is_input else type(self.layer).__name__
        return f"<Graph node {self.name!r} ({what})>"


def _check_name(name, what):
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what} must be a non-empty str, got {type(name).__name__} {name!r}")
    if "." in name:
        raise ValueError(f"{what} must not contain '.' (it separates state-dict keys), got {name!r}")
    return name


class Graph(Layer):
    """A directed acyclic network of layers.

    Build it with ``input``, ``add`` and ``output`` (see the module). Then:

    - ``forward(x)``: x an array (one input) or a dict {input name: array};
      returns one array (one output) or a tuple in ``output``'s order.
    - ``backward(grad_output)``: an array (one output) or a sequence of one
      per output; returns the gradient wrt the input as an array (one
      input) or a dict by input name (several), or None when
      ``requires_input_grad`` is False. Parameters' gradients accumulate.
    - ``parameters()``: every layer's, in insertion order.

    A layer that declares ``fuses_relu`` (Linear, Conv2D, BatchNorm2D) and
    whose output feeds only a ReLU node (and is not an output) runs that ReLU
    in its own pass, as in ``Sequential``; so does the backward of a ReLU
    feeding only a layer that declares ``fuses_relu_backward``.
    """

    def __init__(self):
        super().__init__()
        self.nodes = []
        self.input_nodes = []
        self.output_nodes = []
        self._names = set()
        self._plan = None

    # -- building -----------------------------------------------------------
    def _new_name(self, name, default):
        if name is None:
            # a default taken by an explicit name: the first free "<k>_<j>"
            j, base = 1, default
            while default in self._names:
                default, j = f"{base}_{j}", j + 1
        name = default if name is None else _check_name(name, "name")
        if name in self._names:
            raise ValueError(f"name {name!r} is already used in this graph")
        self._names.add(name)
        return name

    def input(self, name="input"):
        """A new input node named ``name``; ``forward`` takes its array under
        that name (or alone, with one input)."""
        if self.nodes and any(not n.is_input for n in self.nodes):
            raise ValueError("inputs must be declared before the first add()")
        node = Node(self, len(self.nodes), self._new_name(_check_name(name, "name"), name))
        self.nodes.append(node)
        self.input_nodes.append(node)
        self._plan = None
        return node

    def _check_node(self, node, what):
        if not isinstance(node, Node):
            raise TypeError(f"{what} must be a node of this graph (from input() or add()), got "
                            f"{type(node).__name__}")
        if node.graph is not self or node.index >= len(self.nodes) or self.nodes[node.index] is not node:
            raise ValueError(f"{what} {node!r} is a node of another graph")
        return node

    def add(self, layer, *inputs, name=None):
        """A new node computing ``layer`` on ``inputs`` (nodes of this graph);
        returns it. A one-input layer takes exactly one node; Concat and Add
        take two or more. Each layer object may be added once (a layer keeps
        the state of its last forward for its backward)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be an nnfast Layer, got {type(layer).__name__}")
        if self.output_nodes:
            raise ValueError("add() after output(): the graph is closed")
        if not inputs:
            raise ValueError(f"add({type(layer).__name__}) needs at least one input node")
        for i, node in enumerate(inputs):
            self._check_node(node, f"inputs[{i}]")
        n_inputs = getattr(layer, "n_inputs", 1)
        if n_inputs == 1 and len(inputs) != 1:
            raise ValueError(f"{type(layer).__name__} takes one input node, got {len(inputs)}")
        if n_inputs is None and len(inputs) < 2:
            raise ValueError(f"{type(layer).__name__} takes two or more input nodes, got "
                             f"{len(inputs)}")
        for node in self.nodes:
            if node.layer is layer:
                raise ValueError(f"this {type(layer).__name__} is already node {node.name!r}: "
                                 "add each layer once (build a second one to apply it twice)")
        if layer is self or (isinstance(layer, Graph) and self._contains(layer)):
            raise ValueError("a graph cannot contain itself")
        index = len(self.nodes)
        node = Node(self, index, self._new_name(name, str(index - len(self.input_nodes))), layer,
                    inputs)
        self.nodes.append(node)
        self._plan = None
        return node

    def _contains(self, other):
        return any(n.layer is self or (isinstance(n.layer, Graph) and n.layer._contains(self))
                   for n in other.nodes)

    def output(self, *nodes):
        """Declare the graph's outputs (in ``forward``'s return order); once."""
        if self.output_nodes:
            raise ValueError("output() was already called")
        if not nodes:
            raise ValueError("output() needs at least one node")
        for i, node in enumerate(nodes):
            self._check_node(node, f"nodes[{i}]")
        if len({n.index for n in nodes}) != len(nodes):
            raise ValueError("output(): a node is given twice")
        self.output_nodes = list(nodes)
        self._plan = None
        return self

    # -- the plan: consumers, fusions, what needs gradients ------------------
    def _check_ready(self):
        if not self.input_nodes:
            raise ValueError("the graph has no input: call g.input(name) first")
        if not self.output_nodes:
            raise ValueError("the graph has no output: call g.output(node) first")

    def _get_plan(self):
        if self._plan is not None:
            return self._plan
        self._check_ready()
        nodes = self.nodes
        consumers = [[] for _ in nodes]
        for node in nodes:
            for src in node.inputs:
                consumers[src.index].append(node.index)
        outputs = {n.index for n in self.output_nodes}
        # a fused forward: layer node i feeding only a ReLU node j
        fused_forward = {}
        for node in nodes:
            if (node.is_input or not node.layer.fuses_relu or node.index in outputs
                    or len(consumers[node.index]) != 1):
                continue
            j = consumers[node.index][0]
            if type(nodes[j].layer) is ReLU:
                fused_forward[node.index] = j
        # a fused backward: layer node j whose one input is a ReLU node i
        # that feeds only j
        fused_backward = {}
        for node in nodes:
            if node.is_input or not node.layer.fuses_relu_backward or len(node.inputs) != 1:
                continue
            src = node.inputs[0]
            if (not src.is_input and type(src.layer) is ReLU and src.index not in outputs
                    and len(consumers[src.index]) == 1 and src.index not in fused_forward.values()):
                fused_backward[node.index] = src.index
        # nodes through which a gradient reaches a parameter
        trainable_above = [False] * len(nodes)
        for node in nodes:
            trainable_above[node.index] = (
                (not node.is_input and bool(node.layer.parameters()))
                or any(trainable_above[s.index] for s in node.inputs))
        last_use = {}
        for node in nodes:
            for src in node.inputs:
                last_use[src.index] = node.index
        self._plan = {"outputs": outputs, "fused_forward": fused_forward,
                      "fused_backward": fused_backward, "trainable_above": trainable_above,
                      "last_use": last_use}
        return self._plan

    # -- forward and backward ------------------------------------------------
    def _feed(self, x):
        names = [n.name for n in self.input_nodes]
        if isinstance(x, dict):
            unknown = sorted(set(x) - set(names), key=str)
            missing = [n for n in names if n not in x]
            if unknown or missing:
                raise ValueError(f"x must be a dict with exactly the inputs {names}, got keys "
                                 f"{sorted(x, key=str)}" + (f" (missing {missing})" if missing else "")
                                 + (f" (unknown {unknown})" if unknown else ""))
            return [x[n] for n in names]
        if len(names) != 1:
            raise TypeError(f"x must be a dict by input name {names} for a graph of "
                            f"{len(names)} inputs, got {type(x).__name__}")
        return [x]

    def forward(self, x):
        """x : an array, or a dict {input name: array} -> one array or a tuple
        (one per output)"""
        plan = self._get_plan()
        nodes = self.nodes
        values = {}
        for node, value in zip(self.input_nodes, self._feed(x)):
            values[node.index] = value
        fused_forward, last_use, outputs = plan["fused_forward"], plan["last_use"], plan["outputs"]
        skip = set()
        for node in nodes[len(self.input_nodes):]:
            i = node.index
            if i in skip:
                continue
            args = [values[s.index] for s in node.inputs]
            try:
                if i in fused_forward:
                    j = fused_forward[i]
                    values[j] = nodes[j].layer.adopt_output(node.layer.forward_relu(args[0]))
                    skip.add(j)
                else:
                    values[i] = node.layer.forward(*args)
            except ValueError as e:
                shapes = ", ".join(str(np.shape(a)) for a in args)
                raise ValueError(f"graph node {node.name!r} ({type(node.layer).__name__}) on "
                                 f"input shapes {shapes}: {e}") from None
            # free what no later node reads (its arrays may then be reused)
            for s in node.inputs:
                if last_use.get(s.index) == i and s.index not in outputs:
                    values.pop(s.index, None)
        self._grad_output_shape = tuple(np.shape(values[n.index]) for n in self.output_nodes)
        out = tuple(values[n.index] for n in self.output_nodes)
        return out[0] if len(out) == 1 else out

    def backward(self, grad_output):
        """grad_output : an array (one output) or one per output, each of its
        output's shape -> the input gradient (array, or dict by input name),
        or None when ``requires_input_grad`` is False."""
        if self._grad_output_shape is None:
            raise ValueError("Graph.backward called before forward")
        plan = self._get_plan()
        n_out = len(self.output_nodes)
        if n_out == 1:
            grads_out = [grad_output]
        else:
            if not isinstance(grad_output, (list, tuple)) or len(grad_output) != n_out:
                raise ValueError(f"grad_output must be a sequence of {n_out} arrays (one per "
                                 f"output), got {type(grad_output).__name__}"
                                 + (f" of length {len(grad_output)}"
                                    if isinstance(grad_output, (list, tuple)) else ""))
            grads_out = list(grad_output)
        nodes = self.nodes
        grads = {}   # node index -> [array, owned (may be added to in place)]

        def accumulate(index, g):
            if g is None:
                return
            held = grads.get(index)
            if held is None:
                grads[index] = [g, False]
            elif held[1]:
                held[0] += g
            else:
                held[0] = held[0] + g
                held[1] = True

        for node, g, shape in zip(self.output_nodes, grads_out, self._grad_output_shape):
            if g is None:
                continue
            if np.shape(g) != shape:
                raise ValueError(f"grad_output for output {node.name!r} must have shape {shape}, "
                                 f"got {np.shape(g)}")
            accumulate(node.index, g)
        want_input = self.requires_input_grad
        trainable_above = plan["trainable_above"]
        fused_backward = plan["fused_backward"]
        skip = set()
        for node in reversed(nodes[len(self.input_nodes):]):
            i = node.index
            held = grads.pop(i, None)
            if i in skip or held is None:
                continue
            needed = want_input or any(trainable_above[s.index] for s in node.inputs)
            layer = node.layer
            if i in fused_backward and needed and layer.requires_input_grad \
                    and nodes[fused_backward[i]].layer.requires_input_grad:
                relu_node = nodes[fused_backward[i]]
                g_in = layer.backward_relu(held[0])
                relu_node.layer._check_grad_output(g_in, g_in.dtype.type)
                skip.add(relu_node.index)
                accumulate(relu_node.inputs[0].index, g_in)
                continue
            g_in = layer.backward(held[0])
            if not needed:
                continue
            if len(node.inputs) == 1 and getattr(layer, "n_inputs", 1) == 1:
                g_in = (g_in,)
            for src, g in zip(node.inputs, g_in):
                accumulate(src.index, g)
        if not want_input:
            return None
        result = {}
        for node in self.input_nodes:
            held = grads.get(node.index)
            result[node.name] = None if held is None else held[0]
        if len(self.input_nodes) == 1:
            return result[self.input_nodes[0].name]
        return result

    # -- the container interface -------------------------------------------
    def layers_without_input_grad(self):
        """Itself, and every layer whose inputs no parameter lies above: with
        no gradient wanted for the graph's input, theirs is wanted by no one."""
        plan = self._get_plan()
        out = [self]
        for node in self.nodes[len(self.input_nodes):]:
            if not any(plan["trainable_above"][s.index] for s in node.inputs):
                out.append(node.layer)
        return out

    @property
    def layer_nodes(self):
        return [n for n in self.nodes if not n.is_input]

    def named_children(self):
        """(node name, layer) in insertion order: the state-dict prefixes."""
        return [(n.name, n.layer) for n in self.layer_nodes]

    def parameters(self):
        return [p for n in self.layer_nodes for p in n.layer.parameters()]

    def named_buffers(self):
        return [(f"{n.name}.{name}", a) for n in self.layer_nodes
                for name, a in n.layer.named_buffers()]

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        super().train(mode)
        for n in self.layer_nodes:
            n.layer.train(mode)
        return self

    @property
    def layers(self):
        """The output's layers last (what ``evaluate`` reads for a default
        loss): every layer in insertion order, the first output's last."""
        out = [n.layer for n in self.layer_nodes]
        if self.output_nodes and not self.output_nodes[0].is_input:
            last = self.output_nodes[0].layer
            out = [layer for layer in out if layer is not last] + [last]
        return out

    def __repr__(self):
        lines = [f"  {n.name} = input()" if n.is_input else
                 f"  {n.name} = {n.layer!r}({', '.join(s.name for s in n.inputs)})"
                 for n in self.nodes]
        lines.append(f"  output({', '.join(n.name for n in self.output_nodes)})")
        return "Graph(\n" + "\n".join(lines) + "\n)"

    # -- training, inference and persistence, as Sequential's ---------------
    def predict(self, X, batch_size=256):
        """The output on ``X``, in eval mode, batched (``nnfast.training.predict``)."""
        from nnfast.training import predict
        return predict(self, X, batch_size=batch_size)

    def evaluate(self, X, y=None, loss=None, batch_size=256, metrics=None):
        """See ``Sequential.evaluate``."""
        from nnfast.training import evaluate
        return evaluate(self, X, y, loss=loss, batch_size=batch_size, metrics=metrics)

    def save(self, path, optimizer=None):
        """See ``Sequential.save``."""
        from nnfast.io import save
        save(self, path, optimizer=optimizer)
