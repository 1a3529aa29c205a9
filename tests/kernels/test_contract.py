"""One kernel contract: both backends export exactly the kernels of
nnfast/_contract.py, with its argument names, in order, and equal defaults."""
import inspect

import pytest

import nnfast._kernels as fast
import nnfast.reference as reference
from nnfast._contract import KERNELS


def _signature(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_both_backends_have_the_kernel_with_the_contract_signature(name):
    for backend in (fast, reference):
        assert hasattr(backend, name), f"{backend.__name__} lacks {name}"
    fast_sig, ref_sig = _signature(getattr(fast, name)), _signature(getattr(reference, name))
    assert [n for n, _ in fast_sig] == list(KERNELS[name]), (name, fast_sig)
    assert fast_sig == ref_sig, (name, fast_sig, ref_sig)


def test_backends_export_nothing_else_as_kernels():
    for backend in (fast, reference):
        assert sorted(backend.__all__) == sorted(KERNELS)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_and_twin_are_defined_in_modules_of_one_name(name):
    """The twins mirror the kernel modules: nnfast.reference.<module> holds
    the twins of nnfast._kernels.<module>'s kernels."""
    fast_module = getattr(fast, name).__module__
    ref_module = getattr(reference, name).__module__
    assert fast_module.rsplit(".", 1)[1] == ref_module.rsplit(".", 1)[1], (fast_module,
                                                                         ref_module)
