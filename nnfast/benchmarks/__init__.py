"""Training benchmarks: the workloads, a runner that times nnfast and
PyTorch side by side in separate processes, and the report (``nnfast bench``).
"""
