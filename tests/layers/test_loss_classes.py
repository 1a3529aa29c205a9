"""A loss over classes needs at least two: with one, cross-entropy, NLL and
the hinge are constant in pred and their gradient is 0, so a model trained
on them learned nothing, without a word."""
import numpy as np
import pytest

import nnfast as nf


@pytest.mark.parametrize("loss", [nf.losses.CrossEntropyLoss(), nf.losses.NLLLoss(),
                                  nf.losses.HingeLoss(),
                                  nf.losses.CrossEntropyLoss(weight=[2.0])])
def test_one_class_is_refused(loss):
    with pytest.raises(ValueError, match=r"pred must have at least 2 classes.*\(4, 1\)"):
        loss.forward(np.ones((4, 1), np.float32), np.zeros(4, np.int64))


def test_fit_with_one_output_and_cross_entropy_is_refused():
    model = nf.Sequential([nf.layers.Linear(3, 1)])
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        nf.fit(model, np.ones((8, 3)), np.zeros(8, np.int64), nf.losses.CrossEntropyLoss(), opt,
               progress=False)


def test_two_classes_still_work():
    value = nf.losses.CrossEntropyLoss().forward(np.zeros((3, 2)), [0, 1, 1])
    assert value == pytest.approx(np.log(2))
