"""The child process: runs a batch of cases, one after the other.

``python -m nnfast.fuzz.child BATCH_FILE MEMORY_LIMIT_MB`` reads a pickled list
of ``(case_id, target_name, spec)`` and writes to stdout, flushed at once,
``S <i>`` before running case ``i`` and ``R <i> <json>`` after it. A child
that dies of a signal or stops answering leaves an ``S`` without its ``R``:
the parent puts the crash or the hang on that case.
"""
import contextlib
import faulthandler
import json
import os
import pickle
import shutil
import sys
import tempfile
import traceback
import warnings
import zlib


def _limit_memory(megabytes):
    """Cap the address space, so that an allocation the library should have
    refused fails here (MemoryError) instead of exhausting a shared machine."""
    if megabytes <= 0:
        return
    import resource
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Context:
    """What a case's run may use: a scratch folder emptied after each case."""

    def __init__(self, root):
        self.root = root
        self.tmpdir = None
        self.names = []     # words an expected error may name, found while running


    @contextlib.contextmanager
    def case(self, case_id):
        self.tmpdir = tempfile.mkdtemp(prefix="case-", dir=self.root)
        self.names = [self.tmpdir]
        try:
            yield self
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def path(self, name):
        return os.path.join(self.tmpdir, name)


class _State:
    """nnfast's global settings, restored after every case."""

    def __init__(self):
        import nnfast as nf
        from nnfast import _runtime
        self.nf = nf
        self.threads = nf.get_num_threads()
        self.pool = _runtime._pool()

    def apply(self, spec, case_id):
        nf = self.nf
        nf.seed(zlib.crc32(case_id.encode()))
        n, force = spec.get("threads", (1, False))
        nf.set_num_threads(n)
        if force and hasattr(self.pool, "set_flops_per_thread"):
            self.pool.set_flops_per_thread(1.0)

    def restore(self):
        nf = self.nf
        nf.set_backend("fast" if self._fast() else "reference")
        nf.set_num_threads(self.threads)
        nf.set_deterministic(False)
        if hasattr(self.pool, "set_flops_per_thread"):
            self.pool.set_flops_per_thread(1.0e5)

    @staticmethod
    def _fast():
        from nnfast import _backend
        return _backend.fast_available()


def where(exc):
    """The innermost frame of the traceback inside nnfast but outside the
    fuzzer: where a wrong-kind error escaped from."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = frame.filename.replace(os.sep, "/")
        if "/nnfast/" in path and "/nnfast/fuzz/" not in path:
            return f" [at {path.split('/nnfast/', 1)[1]}:{frame.lineno} in {frame.name}]"
    if frames:
        frame = frames[-1]
        return f" [at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}]"
    return ""


def run_case(target, spec, case_id, ctx, state):
    """(class, detail) of one case run in this process."""
    import numpy as np

    from nnfast.fuzz.outcome import classify_exception
    try:
        state.apply(spec, case_id)
        with ctx.case(case_id), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            target.run(spec, ctx)
        return "ok", ""
    except BaseException as e:  # everything a call raised is classified
        names = target.names + tuple(spec.get("names", ())) + tuple(ctx.names)
        cls, detail = classify_exception(e, names, target.allowed,
                                         target.paths or spec.get("paths", False))
        if cls != "expected":
            detail += where(e)
        return cls, detail
    finally:
        state.restore()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    batch_file, memory_mb = argv[0], int(argv[1])
    _limit_memory(memory_mb)
    faulthandler.enable(sys.stderr, all_threads=True)
    from nnfast.fuzz.targets import all_targets
    targets = all_targets()
    with open(batch_file, "rb") as f:
        cases = pickle.load(f)
    root = tempfile.mkdtemp(prefix="nnfast-fuzz-")
    out = sys.stdout.buffer
    state = _State()
    ctx = Context(root)
    try:
        for i, (case_id, target_name, spec) in enumerate(cases):
            out.write(f"S {i}\n".encode())
            out.flush()
            cls, detail = run_case(targets[target_name], spec, case_id, ctx, state)
            out.write(f"R {i} {json.dumps([cls, detail])}\n".encode())
            out.flush()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
