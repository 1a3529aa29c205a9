"""The README's depth tables: each is printed by the ``nnfast train`` command
beside it. The documented commands run here on a short configuration (the
full ones take minutes) and must print the tables stored in tests/cli/data,
which were made by running the same short commands."""
import os
import re
import shlex

import pytest

from nnfast.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SHORT = ["--epochs", "3", "--train-fraction", "0.5"]
PAIR = re.compile(r"```bash\n(nnfast train [^\n]*)\n```\n\n((?:\|[^\n]*\|\n)+)")

pytestmark = pytest.mark.skipif(not os.path.isfile(README), reason="README.md is not beside the tests")


def documented():
    """(command, table) for each table in the README with its command above it."""
    with open(README) as f:
        text = f.read()
    return [(m.group(1), m.group(2).strip()) for m in PAIR.finditer(text)
            if m.group(2).startswith("| hidden layers |")]


def stored(activation):
    with open(os.path.join(DATA, f"depth_table_{activation}_short.md")) as f:
        command, table = f.read().strip().split("\n", 1)
    return command, table.strip()


def printed_table(out):
    lines = out.strip().splitlines()
    start = lines.index("| hidden layers | activation | test accuracy |")
    return "\n".join(lines[start:])


def test_readme_has_a_command_beside_each_depth_table():
    pairs = documented()
    assert [c for c, _ in pairs] == ["nnfast train --hidden-layers 1,2,3,4,5 --activation sigmoid",
                                     "nnfast train --hidden-layers 1,2,3,4,5 --activation relu"]
    for command, table in pairs:
        activation = command.split()[-1]
        rows = table.splitlines()[2:]
        assert [r.split("|")[1:3] for r in rows] == [[f" {d} ", f" {activation} "] for d in range(1, 6)]


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_documented_command_on_a_short_configuration_prints_the_stored_table(capsys, activation):
    command = dict((c.split()[-1], c) for c, _ in documented())[activation]
    short = " ".join([command] + SHORT)
    stored_command, stored_table = stored(activation)
    assert stored_command == short, "the README's command changed: regenerate the stored table"
    args = shlex.split(short)[1:] + ["--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert printed_table(out) == stored_table
