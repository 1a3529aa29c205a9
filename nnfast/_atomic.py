"""Write a file atomically, as a careful user would by hand.

``write_atomically(path, write)`` writes through a temporary file in the
target's own folder, flushed to disk and renamed over the target, so a
crash or a kill never leaves a half-written file at ``path``:

- a symlink is written through: its target gets the new contents, the link
  stays a link;
- a path that exists and is not a regular file (a folder, a FIFO, a device
  such as /dev/full) is refused with a ValueError and left as it was (a
  rename would have replaced it with a regular file);
- the new file keeps the mode of the file it replaces, or gets the umask's
  default for a new file (a temporary file is created 0600);
- a write that fails (a full disk, a file size limit) raises the OSError,
  and the temporary file is removed;
- temporary files left by a save that was killed (its process is gone) are
  removed by the next save to that folder: each one's name carries the pid
  of the process writing it.
"""
import os
import re
import stat
import tempfile

_TMP_PREFIX = ".nnfast-"
_TMP_SUFFIX = ".tmp"
# .nnfast-<pid>-<target name>.<random>.tmp
_TMP_PATTERN = re.compile(r"^\.nnfast-(\d+)-.*\.tmp$")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory):
    """Remove the temporary files of saves whose process has died."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = _TMP_PATTERN.match(name)
        if m and not _alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def resolve_target(path):
    """The regular file that writing ``path`` should replace (symlinks
    followed), or ValueError if ``path`` exists and is something else."""
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target, None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else
                "a FIFO" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        shown = f"{path!r}" + (f" (-> {target!r})" if target != os.path.abspath(path) else "")
        raise ValueError(f"path {shown} exists and is {kind}, not a regular file: "
                         "refusing to replace it")
    return target, stat.S_IMODE(st.st_mode)


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary file and rename it over ``path``
    (see the module docstring for what happens to links, modes, failures).

    Parameters
    ----------
    path : str
    write : callable taking a binary file object
    """
    target, mode = resolve_target(path)
    directory = os.path.dirname(target)
    remove_stale_temporaries(directory)
    if mode is None:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=_TMP_SUFFIX,
                               prefix=f"{_TMP_PREFIX}{os.getpid()}-{os.path.basename(target)}.")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
