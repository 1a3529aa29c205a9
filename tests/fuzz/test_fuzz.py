"""The fuzzer (``nnfast-fuzz``) over every public entry point, bounded for CI:
no case may crash, hang, raise an error of the wrong kind or return garbage.
And the fuzzer itself: each outcome, crashes and hangs included, is told
apart and put on the case that caused it."""
import importlib.util
import os
import subprocess
import sys

import pytest

pytest.importorskip("hypothesis")

import nnfast as nf  # noqa: E402
from nnfast.fuzz import run  # noqa: E402
from nnfast.fuzz.cli import format_bad  # noqa: E402
from nnfast.fuzz.outcome import BAD_CLASSES, classify_exception  # noqa: E402
from nnfast.fuzz.runner import run_cases  # noqa: E402
from nnfast.fuzz.targets import all_targets  # noqa: E402

# about 20 s on an idle 2-core machine; `nnfast-fuzz --cases 10000` is the long run
CI_CASES = 1000


@pytest.fixture(scope="module")
def results():
    # a generous timeout: a shared, busy machine is slow, not hung
    return run(n_cases=CI_CASES, seed=0, timeout=120, jobs=2)


def test_no_case_crashes_hangs_or_gives_a_wrong_kind_of_error_or_garbage(results):
    assert len(results) >= CI_CASES
    bad = [r for r in results if r.cls in BAD_CLASSES]
    assert not bad, f"{len(bad)} bad cases:\n" + format_bad(results, {}, 30)


def test_every_entry_point_gets_cases_and_some_succeed(results):
    by_target = {}
    for r in results:
        by_target.setdefault(r.target, set()).add(r.cls)
    # every registered entry point (the fuzzer's self-test aside), so that a
    # new target is in CI as soon as it is registered
    names = [name for name, target in all_targets().items() if not target.hidden]
    assert len(names) >= 40
    for name in names:
        assert name in by_target, f"no cases for {name}"
    # the optional packages' entry points, where the package is installed
    for name, package in (("nnfast.sklearn", "sklearn"), ("nnfast.onnx.export/load", "onnx")):
        if importlib.util.find_spec(package) is not None:
            assert name in by_target, f"no cases for {name}"
    # the cases are not all refusals: valid calls are checked too (how many
    # entry points draw a valid case among 1,000 varies with the process the
    # draw runs in: 36 of 36 from a plain interpreter, 31 under pytest)
    assert sum("ok" in classes for classes in by_target.values()) >= len(by_target) - 6


def test_crashes_and_hangs_are_caught_and_put_on_their_case():
    actions = ["ok", "crash", "ok", "hang", "expected", "abort", "wrong-kind", "garbage", "ok"]
    cases = [(f"selftest#{i}", "selftest", {"action": a}) for i, a in enumerate(actions)]
    results = run_cases(cases, timeout=2.0, jobs=2, batch_size=100)
    want = {"ok": "ok", "crash": "crash", "abort": "crash", "hang": "hang",
            "expected": "expected", "wrong-kind": "wrong-kind", "garbage": "garbage"}
    assert [r.cls for r in results] == [want[a] for a in actions]
    assert [r.case_id for r in results] == [c[0] for c in cases]
    assert "SIGSEGV" in results[1].detail and "SIGABRT" in results[5].detail
    # the cases after a crash or a hang ran in a new child, and a crash was
    # run again alone to show it needs nothing before it
    assert "reproduces alone" in results[1].detail


@pytest.mark.parametrize("exc, names, expected", [
    (ValueError("x must have 2 dimensions, got 3"), ("x",), "expected"),
    (TypeError("weight_tensor must be a numeric array"), ("weight_tensor",), "expected"),
    (ValueError("Buffer dtype mismatch, expected 'float' but got 'double'"), ("x",), "wrong-kind"),
    (ValueError("Buffer has wrong number of dimensions (expected 1, got 2)"), ("x",),
     "wrong-kind"),
    (ValueError("cannot reshape array of size 6 into shape (4,)"), ("x",), "wrong-kind"),
    (ValueError("expected non-negative integer"), ("rng",), "wrong-kind"),
    (ValueError("something went wrong"), ("x",), "wrong-kind"),
    (AttributeError("'NoneType' object has no attribute 'read'"), ("f",), "wrong-kind"),
    (ZeroDivisionError("float division by zero"), ("x",), "wrong-kind"),
    (RecursionError("maximum recursion depth exceeded"), ("path",), "wrong-kind"),
    (BufferError("scalar buffer is readonly"), ("grad_output",), "wrong-kind"),
    (MemoryError(), ("x",), "wrong-kind"),
])
def test_exceptions_are_classified_by_kind_and_by_naming_the_argument(exc, names, expected):
    assert classify_exception(exc, names)[0] == expected


def test_os_errors_are_expected_only_where_paths_are_given():
    e = FileNotFoundError(2, "model file 'a.npz' does not exist", "a.npz")
    assert classify_exception(e, ("path",), paths=True)[0] == "expected"
    assert classify_exception(e, ("path",), paths=False)[0] == "wrong-kind"


# run children from the folder of the nnfast under test (not a source tree
# without its compiled modules)
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nf.__file__)))


def test_console_script_exit_status_and_totals(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "nnfast.fuzz", "--cases", "40", "--seed", "3",
                         "--target", "layers.ReLU", "--timeout", "120"],
                        capture_output=True, text=True, cwd=PACKAGE_ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "crash=0" in ok.stdout and "layers.ReLU" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "nnfast.fuzz", "--cases", "7", "--seed", "0",
                          "--target", "selftest", "--timeout", "2"],
                         capture_output=True, text=True, cwd=PACKAGE_ROOT)
    assert bad.returncode == 1
    assert "bad cases:" in bad.stdout
