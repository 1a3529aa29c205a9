"""Dropout with the course's parameter: the probability of keeping a unit."""
import numpy as np

from nnfast._validation import check_float
from nnfast.fau._checks import as_tensor
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.dropout import Dropout as _Dropout

# the largest seed np.random.randint draws as an int64
_SEED_BOUND = np.iinfo(np.int64).max


class Dropout(DelegatingLayer):
    """Inverted dropout: in the training phase each element is kept with
    probability ``probability`` and scaled by 1 / probability (zeroed
    otherwise), so that the expected output is the input; in the testing
    phase (``testing_phase`` True) the identity.

    Parameters
    ----------
    probability : float in (0, 1]
        The probability of *keeping* a unit (the course's convention;
        ``nnfast.layers.Dropout``'s ``p`` is 1 - probability, the probability
        of dropping one). 1 keeps everything.

    Input of any shape. Backward passes the error through the last forward's
    mask, times the same scale (nnfast's ``dropout_*`` kernels). Each
    training forward draws its mask from a generator seeded from NumPy's
    global random state, so that ``np.random.seed`` before a forward fixes
    the mask, as the course's gradient check (``Helpers.gradient_check(...,
    seed=...)``) needs.
    """

    def __init__(self, probability):
        super().__init__()
        self.probability = check_float(probability, "probability", 0.0, 1.0,
                                       min_inclusive=False)
        # reseeded from np.random at every training forward
        self._generator = np.random.Generator(np.random.PCG64())
        self._inner = _Dropout(p=1.0 - self.probability, rng=self._generator)

    def forward(self, input_tensor):
        """input_tensor : any shape -> the same shape"""
        # checked before a seed is drawn, so that bad input leaves np.random as it was
        x = as_tensor(input_tensor, "input_tensor")
        self._inner.train(not self.testing_phase)
        if not self.testing_phase:
            seed = np.random.randint(0, _SEED_BOUND, dtype=np.int64)
            self._generator.bit_generator.state = np.random.PCG64(int(seed)).state
        return super().forward(x)

    def __repr__(self):
        return f"Dropout({self.probability!r})"
