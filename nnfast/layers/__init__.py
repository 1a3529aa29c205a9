"""Layers: each with ``forward``, ``backward``, ``parameters``, train/eval."""
from nnfast.layers.base import Layer
from nnfast.layers.linear import Linear
from nnfast.layers.dropout import Dropout
from nnfast.layers.activations import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh
from nnfast.layers.softmax import CumulativeSoftmax, LogSoftmax, Softmax
from nnfast.layers.flatten import Flatten
from nnfast.layers.conv import Conv2D
from nnfast.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from nnfast.layers.batchnorm import BatchNorm1D, BatchNorm2D
from nnfast.layers.recurrent import GRU, LSTM, RNN
from nnfast.layers.conv_transpose import ConvTranspose2D
from nnfast.layers.upsample import Upsample
from nnfast.layers.last_step import LastStep
from nnfast.layers.merge import Add, Concat
from nnfast.layers.skip import SkipConnection
