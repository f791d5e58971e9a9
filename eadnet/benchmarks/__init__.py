"""Benchmarks as library functions returning numbers; the ``eadnet bench`` command prints them.

- `eadnet.benchmarks.model_bench`: FLOPs and time of the denoiser (EAD modules on/off), STDA against full attention.
- `eadnet.benchmarks.generate_bench`: generation end to end — stage timings, time per denoising step, fps, peak
  memory, a linear fit against clip length, a machine description, and the comparison of two result files.
"""
