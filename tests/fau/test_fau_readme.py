"""The README's nnfast.fau examples run as printed.

The section's Python blocks are one session (each continues the one
before); run together, each exercise's network must learn (accuracy far
above chance) and the Elman cell must give its documented shape.
"""
import contextlib
import io
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")

pytestmark = pytest.mark.skipif(not os.path.isfile(README), reason="README.md is not beside the tests")


def fau_blocks():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    start = text.index("## nnfast.fau")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end >= 0 else len(text)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_fau_section_has_the_three_exercises():
    code = "\n".join(fau_blocks())
    assert "NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1e-3))" in code          # exercise 1
    assert "Conv.Conv(" in code and "Initializers.He()" in code                  # exercise 2
    assert "BatchNormalization.BatchNormalization(" in code and "RNN.RNN(" in code  # exercise 3


def test_the_fau_examples_run_and_learn():
    pytest.importorskip("sklearn")  # IrisData and DigitData load scikit-learn's data sets
    namespace = {"__name__": "readme_fau"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile("\n".join(fau_blocks()), README, "exec"), namespace)
    accuracies = [float(line) for line in printed.getvalue().split()]
    # exercise 1 on Iris (3 classes) and exercise 3 on the 8x8 digits (10)
    assert len(accuracies) == 2, printed.getvalue()
    assert accuracies[0] > 0.8, accuracies
    assert accuracies[1] > 0.8, accuracies
    assert namespace["out"].shape == (9, 5)
    assert np.all((namespace["out"] > 0) & (namespace["out"] < 1))   # the sigmoid output
