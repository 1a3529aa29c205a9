"""Ready-made networks built from nnfast's layers."""
from nnfast.models.unet import UNet

__all__ = ["UNet"]
