"""The parent: runs cases in child processes, batch by batch, and puts a
crash or a hang on the case that caused it.

Each child runs a batch of cases in turn and says ``S <i>`` before case
``i`` and ``R <i> <result>`` after it (``child``). A child that dies (a
signal, or any exit before its batch is done) leaves a case started and not
finished: that case crashed. A case that runs past ``timeout`` seconds is
killed: it hung. The rest of the batch then runs in a new child. A crash or
hang is run once more alone in a fresh child, to say whether it needs the
cases before it.
"""
import json
import os
import pickle
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque


class Result:
    """One case's outcome."""

    __slots__ = ("case_id", "target", "cls", "detail")

    def __init__(self, case_id, target, cls, detail):
        self.case_id = case_id
        self.target = target
        self.cls = cls
        self.detail = detail

    def __repr__(self):
        return f"Result({self.case_id!r}, {self.cls!r}, {self.detail!r})"


class HarnessError(RuntimeError):
    """A child failed before running any case (the fuzzer itself is broken)."""


class _Child:
    """One running child and the batch it holds: a list of case indices."""

    def __init__(self, indices, cases, memory_mb, workdir, confirm=False):
        self.indices = list(indices)
        self.confirm = confirm
        fd, self.batch_file = tempfile.mkstemp(suffix=".pkl", dir=workdir)
        with os.fdopen(fd, "wb") as f:
            pickle.dump([cases[i] for i in self.indices], f)
        self.stderr = tempfile.TemporaryFile(dir=workdir)
        self.batch_file = os.path.abspath(self.batch_file)
        # run from the folder that holds the nnfast this process imported:
        # ``-m`` puts the working directory first on sys.path, and from a
        # source checkout it would find the uncompiled package there
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nnfast.fuzz.child", self.batch_file, str(memory_mb)],
            stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL,
            start_new_session=True, env=_child_env(), cwd=_package_root())
        self.buffer = b""
        self.current = None        # position in self.indices of the running case
        self.started_at = None
        self.done = set()          # positions finished
        self.eof = False

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stderr_tail(self, n=1500):
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace")
        return text[-n:]

    def fault_summary(self):
        """What faulthandler printed for the crash: the fatal error and the
        innermost frames of the thread that crashed."""
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").splitlines()
        fatal = [ln for ln in lines if ln.startswith("Fatal Python error")]
        frames, current = [], False
        for ln in lines:
            if ln.startswith("Current thread"):
                current = True
            elif current and ln.strip().startswith("File "):
                frames.append(ln.strip())
            elif current and frames and not ln.strip():
                break
        parts = fatal[-1:] + frames[:3]
        return " / ".join(parts) if parts else self.stderr_tail(300).strip().replace("\n", " / ")

    def close(self):
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        self.stderr.close()
        try:
            os.unlink(self.batch_file)
        except OSError:
            pass


def _package_root():
    import nnfast
    return os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))


def _child_env():
    env = dict(os.environ)
    # the child imports the nnfast this process imported
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONFAULTHANDLER", "1")
    return env


def _signal_name(returncode):
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def run_cases(cases, timeout=30.0, jobs=2, batch_size=100, memory_mb=4096, progress=None):
    """Run ``cases`` (a list of ``(case_id, target_name, spec)``) in children.

    Parameters
    ----------
    timeout : float
        Seconds one case may run before it counts as a hang.
    jobs : int
        Children running at once.
    batch_size : int
        Cases per child.
    memory_mb : int
        Address-space limit of each child (0: none).
    progress : callable(done, total) or None

    Returns
    -------
    list of Result, in the order of ``cases``
    """
    results = [None] * len(cases)
    queue = deque((list(range(i, min(i + batch_size, len(cases)))), False)
                  for i in range(0, len(cases), batch_size))
    running = []
    sel = selectors.DefaultSelector()
    finished = 0
    with tempfile.TemporaryDirectory(prefix="nnfast-fuzz-batches-") as workdir:
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    indices, confirm = queue.popleft()
                    child = _Child(indices, cases, memory_mb, workdir, confirm)
                    running.append(child)
                    sel.register(child.proc.stdout, selectors.EVENT_READ, child)
                wait = _next_deadline(running, timeout)
                for key, _ in sel.select(timeout=wait):
                    child = key.data
                    data = os.read(key.fileobj.fileno(), 65536)
                    if not data:
                        child.eof = True
                        sel.unregister(key.fileobj)
                        continue
                    child.buffer += data
                    finished += _read_lines(child, cases, results)
                now = time.monotonic()
                for child in list(running):
                    if child.eof:
                        child.proc.wait()
                        finished += _child_ended(child, cases, results, queue,
                                                 _signal_name(child.proc.returncode))
                    elif child.current is not None and now - child.started_at > timeout:
                        child.kill()
                        child.proc.wait()
                        sel.unregister(child.proc.stdout)
                        finished += _child_ended(child, cases, results, queue, None)
                    else:
                        continue
                    running.remove(child)
                    child.close()
                if progress is not None:
                    progress(finished, len(cases))
        finally:
            for child in running:
                child.kill()
                child.proc.wait()
                child.close()
    return results


def _next_deadline(running, timeout):
    now = time.monotonic()
    waits = [max(0.0, child.started_at + timeout - now) + 0.01
             for child in running if child.current is not None]
    return min(waits + [1.0])


def _read_lines(child, cases, results):
    finished = 0
    while b"\n" in child.buffer:
        line, child.buffer = child.buffer.split(b"\n", 1)
        parts = line.decode(errors="replace").split(" ", 2)
        if parts[0] == "S":
            child.current = int(parts[1])
            child.started_at = time.monotonic()
        elif parts[0] == "R":
            pos = int(parts[1])
            cls, detail = json.loads(parts[2])
            case_id, target, _ = cases[child.indices[pos]]
            if child.confirm:
                # a lone re-run of a crash or hang: only its detail is new
                old = results[child.indices[pos]]
                old.detail += f" | run alone in a fresh child: {cls} (does not reproduce alone)"
            else:
                results[child.indices[pos]] = Result(case_id, target, cls, detail)
                finished += 1
            child.done.add(pos)
            child.current = None
    return finished


def _child_ended(child, cases, results, queue, how):
    """Record the case a dead or killed child was running; queue the rest."""
    pos = child.current
    if pos is None:
        if len(child.done) == len(child.indices):
            return 0
        if not child.done:
            raise HarnessError(f"a fuzz child {_signal_name(child.proc.returncode)} before "
                               f"running any case:\n{child.stderr_tail()}")
        pos = min(set(range(len(child.indices))) - child.done)
    index = child.indices[pos]
    case_id, target, _ = cases[index]
    cls = "hang" if how is None else "crash"
    detail = ("ran past the timeout" if how is None else how)
    if how is not None:
        summary = child.fault_summary()
        if summary:
            detail += f"; {summary}"
    finished = 0
    if child.confirm:
        old = results[index]
        old.detail += f" | run alone in a fresh child: {cls} again (reproduces alone)"
    else:
        before = [cases[child.indices[p]][0] for p in sorted(child.done)][-3:]
        if before:
            detail += f" (after {', '.join(before)} in the same child)"
        results[index] = Result(case_id, target, cls, detail)
        finished = 1
        if pos > 0:
            queue.appendleft(([index], True))
    rest = [child.indices[p] for p in range(pos + 1, len(child.indices))]
    if rest:
        queue.appendleft((rest, child.confirm))
    return finished
