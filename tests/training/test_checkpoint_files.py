"""How nf.save treats the file system: links, modes, non-regular paths,
killed saves and full disks."""
import os
import signal
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnfast as nf


def _model():
    nf.seed(0)
    return nf.Sequential([nf.layers.Linear(4, 3), nf.layers.ReLU(), nf.layers.Linear(3, 2)])


def _same_weights(a, b):
    return all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(), b.parameters()))


def test_round_trip_is_bitwise(tmp_path):
    model = _model()
    path = tmp_path / "m.npz"
    nf.save(model, path)
    assert _same_weights(model, nf.load(path))


def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.npz"
    link = tmp_path / "link.npz"
    nf.save(_model(), target)
    link.symlink_to(target)
    model = _model()
    model.parameters()[0].value[...] = 7.0
    nf.save(model, link)
    assert link.is_symlink()
    assert _same_weights(nf.load(target), model)


def test_mode_of_the_replaced_file_is_kept_and_new_files_follow_the_umask(tmp_path):
    path = tmp_path / "m.npz"
    nf.save(_model(), path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    os.chmod(path, 0o640)
    nf.save(_model(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_path_that_is_not_a_regular_file_is_refused_and_left(tmp_path, kind):
    path = tmp_path / "thing"
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(ValueError, match="not a regular file"):
        nf.save(_model(), path)
    assert path.is_dir() if kind == "folder" else stat.S_ISFIFO(os.stat(path).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["thing"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_device_is_refused():
    with pytest.raises(ValueError, match="device"):
        nf.save(_model(), "/dev/full")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_failing_write_is_an_oserror_and_leaves_nothing(tmp_path):
    # A file-size limit makes the write fail inside the file system, as a
    # full disk does (write() returns EFBIG once SIGXFSZ is ignored).
    script = textwrap.dedent(f"""
        import resource, signal, sys
        import numpy as np, nnfast as nf
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        model = nf.Sequential([nf.layers.Linear(512, 512)])
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            nf.save(model, {str(tmp_path / 'big.npz')!r})
        except OSError as e:
            print("OSError", e.errno)
            sys.exit(0)
        print("no error")
        sys.exit(1)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OSError" in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_temporaries_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    # A child that starts a save and is killed while writing leaves its
    # temporary file; the next save to that folder removes it.
    script = textwrap.dedent(f"""
        import os, signal, numpy as np, nnfast as nf
        from nnfast import _atomic
        def write(f):
            f.write(b"partial")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        _atomic.write_atomically({str(tmp_path / 'm.npz')!r}, write)
    """)
    out = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert out.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    nf.save(_model(), tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npz"]


def test_a_concurrent_live_save_is_not_disturbed(tmp_path):
    # a temporary of a live process (this one) is not stale
    live = tmp_path / f".nnfast-{os.getpid()}-x.npz.abc.tmp"
    live.write_bytes(b"in progress")
    nf.save(_model(), tmp_path / "m.npz")
    assert live.exists()
