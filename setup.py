"""Build nnfast's compiled kernels.

Every ``nnfast/_kernels/*.pyx`` becomes one extension module. A module that
needs C sources from ``csrc/`` names them in a ``# distutils: sources = ...``
line at its top, which ``cythonize`` reads.

Environment switches
--------------------
NNFAST_DEBUG=1
    Cython bounds, wraparound and initialisation checks on, ``-O0 -g``: for
    debugging and for a CI job that hunts out-of-bounds accesses.
NNFAST_NATIVE=1
    ``-march=native``: faster element-wise loops on the build machine, a
    wheel that may not run on an older CPU.
NNFAST_NO_OPENMP=1
    Build serial kernels even where OpenMP works.
NNFAST_SANITIZE=address (or any -fsanitize= list, e.g. address,undefined)
    Compile and link every kernel with that sanitizer and frame pointers,
    OpenMP kept on (the OpenMP probe is built with the same flags, so a
    sanitizer that breaks the probe fails the build instead of silently
    dropping OpenMP). Run the tests with the sanitizer's runtime preloaded:
    ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)
    ASAN_OPTIONS=detect_leaks=0 python -m pytest tests/kernels``
    (CPython itself is not built with it; .ci/run does this once).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
DEBUG = os.environ.get("NNFAST_DEBUG", "0") not in ("", "0")
NATIVE = os.environ.get("NNFAST_NATIVE", "0") not in ("", "0")
NO_OPENMP = os.environ.get("NNFAST_NO_OPENMP", "0") not in ("", "0")
SANITIZE = os.environ.get("NNFAST_SANITIZE", "").strip()
SANITIZE_FLAGS = ([f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-g"]
                  if SANITIZE else [])

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n);
        return n >= 1 ? 0 : 1;
    }
    """
)


def openmp_flags(compiler):
    """Compile, link and run a tiny OpenMP program, as scikit-learn's build does.

    Returns the (compile, link) flags that made it work, or None: a compiler
    that accepts ``-fopenmp`` but whose runtime is missing would otherwise
    give extensions that fail at import.
    """
    if NO_OPENMP:
        return None
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    for cflags, lflags in candidates:
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            objs = compiler.compile([src], output_dir=tmp,
                                    extra_postargs=cflags + SANITIZE_FLAGS)
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, exe, extra_postargs=lflags + SANITIZE_FLAGS)
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip().isdigit():
                return cflags, lflags
        except Exception:  # any failure means: no usable OpenMP
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return None


class BuildExt(build_ext):
    """build_ext that adds OpenMP flags where a probe program ran."""

    def build_extensions(self):
        flags = openmp_flags(self.compiler)
        if flags is None and SANITIZE and not NO_OPENMP:
            raise RuntimeError(
                f"nnfast: NNFAST_SANITIZE={SANITIZE}: the OpenMP probe failed to build "
                "or run with the sanitizer flags; a sanitizer build without OpenMP would "
                "not test the parallel kernels, so the build stops here")
        if flags is None:
            warnings.warn(
                "nnfast: OpenMP was not found (or NNFAST_NO_OPENMP is set); "
                "building serial kernels. nnfast.openmp_enabled() will say False."
            )
            print("nnfast: building WITHOUT OpenMP", file=sys.stderr)
        for ext in self.extensions:
            if flags is not None:
                ext.extra_compile_args += flags[0]
                ext.extra_link_args += flags[1]
            ext.extra_compile_args += SANITIZE_FLAGS
            ext.extra_link_args += SANITIZE_FLAGS
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    if DEBUG:
        cflags = ["-O0", "-g"]
    else:
        # No errno from math functions and no FP traps (nnfast never enables
        # them): without these two GCC will not vectorise loops with sqrt or
        # exp in them.
        cflags = ["-O3", "-fno-math-errno", "-fno-trapping-math",
                  # Keep short copy and fill loops (im2col's rows of 10 to
                  # 30 pixels) inline and vectorised: GCC turns them into
                  # memcpy/memset calls, which cost more than the copy. Long
                  # copies call memcpy explicitly.
                  "-fno-tree-loop-distribute-patterns"]
        if NATIVE:
            cflags.append("-march=native")
    exts = []
    for pyx in sorted(glob.glob(os.path.join("nnfast", "_kernels", "*.pyx"))):
        name = os.path.splitext(pyx)[0].replace(os.sep, ".")
        exts.append(
            Extension(
                name,
                [pyx],
                include_dirs=["csrc"],
                extra_compile_args=list(cflags),
                extra_link_args=[],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    # The generated C depends on the directives (bounds checks on or off):
    # regenerate it all when the build mode changes, not only when a .pyx does.
    mode = ("debug" if DEBUG else "release") + (f"+{SANITIZE}" if SANITIZE else "")
    stamp = os.path.join("build", "nnfast-cython-mode")
    previous = open(stamp).read() if os.path.exists(stamp) else None
    os.makedirs("build", exist_ok=True)
    with open(stamp, "w") as f:
        f.write(mode)
    return cythonize(
        exts,
        force=previous is not None and previous != mode,
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": False,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "nonecheck": False,
            "embedsignature": True,
        },
        compile_time_env={"NNFAST_DEBUG": DEBUG},
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
