"""Callbacks for ``nf.fit(..., callbacks=[...])``: stop early, save
checkpoints, change the learning rate, log to CSV or TensorBoard."""
from nnfast.callbacks.base import Callback, LambdaCallback
from nnfast.callbacks.early_stopping import EarlyStopping
from nnfast.callbacks.checkpoint import ModelCheckpoint
from nnfast.callbacks.lr import LearningRateScheduler, ReduceLROnPlateau
from nnfast.callbacks.csv_logger import CSVLogger
from nnfast.callbacks.tensorboard import TensorBoard

__all__ = ["Callback", "LambdaCallback", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TensorBoard"]
