"""eeg2fmri's benchmark scripts, the study and their shared harness.

Every script runs as a file (``python benchmarks/bench_models.py``) or as a module
from the repository root (``python -m benchmarks.bench_models``); the study is
``python -m benchmarks.study``. :mod:`benchmarks.harness` holds what they share.
"""
