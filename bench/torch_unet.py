"""The PyTorch twin of an nnfast network of Conv2D, BatchNorm2D, ReLU,
MaxPool2D, ConvTranspose2D, SkipConnection and Sequential (``nf.models.UNet``
is one): the same modules in torch.nn, with the same weights and buffers.

``torch_unet_like(model)`` walks the nnfast model and builds the torch module
layer by layer; the state-dict keys are the same on both sides (a
SkipConnection's inner network is ``submodule``, as MONAI's), so the weights
copy with ``load_state_dict(model.state_dict())``.
"""
import numpy as np


def _skip_connection_class():
    import torch

    class SkipConnection(torch.nn.Module):
        """MONAI's SkipConnection: cat([x, submodule(x)], dim) or x + submodule(x)."""

        def __init__(self, submodule, mode="cat", dim=1):
            super().__init__()
            self.submodule, self.mode, self.dim = submodule, mode, dim

        def forward(self, x):
            y = self.submodule(x)
            return torch.cat([x, y], dim=self.dim) if self.mode == "cat" else x + y

    return SkipConnection


def torch_module_like(layer):
    """The torch.nn module computing what nnfast ``layer`` computes (weights
    not copied: see ``torch_unet_like``)."""
    import torch

    import nnfast as nf

    nn, L = torch.nn, nf.layers
    kind = type(layer)
    if kind is nf.Sequential:
        return nn.Sequential(*[torch_module_like(sub) for sub in layer.layers])
    if kind is L.SkipConnection:
        return _skip_connection_class()(torch_module_like(layer.inner), layer.mode, layer.dim)
    if kind is L.Conv2D:
        pads = set(layer.padding)   # (top, bottom, left, right)
        if len(pads) != 1:
            raise TypeError("torch_module_like: asymmetric Conv2D padding has no nn.Conv2d twin")
        return nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                         stride=layer.stride, padding=pads.pop(), dilation=layer.dilation,
                         groups=getattr(layer, "groups", 1), bias=layer.bias is not None)
    if kind is L.ConvTranspose2D:
        return nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                  stride=layer.stride, padding=layer.padding,
                                  output_padding=layer.output_padding, dilation=layer.dilation,
                                  bias=layer.bias is not None)
    if kind is L.BatchNorm2D:
        return nn.BatchNorm2d(layer.num_features, eps=layer.eps, momentum=layer.momentum)
    if kind is L.ReLU:
        return nn.ReLU()
    if kind is L.MaxPool2D:
        return nn.MaxPool2d(layer.kernel_size, stride=layer.stride, padding=layer.padding)
    raise TypeError(f"torch_module_like: no torch twin for {kind.__name__}")


def torch_unet_like(model):
    """A torch.nn.Module with ``model``'s architecture, weights and buffers
    (float32 or float64 as the model), in the model's train/eval mode."""
    import torch

    twin = torch_module_like(model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    dtype = next(iter(state.values())).dtype if state else torch.float32
    twin = twin.to(dtype)
    twin.load_state_dict(state)
    twin.train(model.training)
    return twin
