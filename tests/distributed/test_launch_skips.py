"""The MPI tests skip, not fail, where mpiexec cannot be found."""
import sys

import pytest

import mpi_launch


def test_no_mpiexec_beside_python_nor_on_path_skips(monkeypatch, tmp_path):
    pytest.importorskip("mpi4py")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert mpi_launch.find_mpiexec() is None
    with pytest.raises(pytest.skip.Exception, match="mpiexec is not available"):
        mpi_launch.mpiexec_or_skip()
