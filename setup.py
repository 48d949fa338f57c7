"""The one compiled piece: sketchprep._native (see sketchprep/native.py). Everything else is in pyproject.toml.

Built with the stable ABI (one binary for every CPython >= 3.11) and without floating-point contraction, so its
float64 arithmetic rounds exactly as numpy's does. `optional`: where no C compiler is found the install still
succeeds and sketchprep falls back to its numpy path (same numbers, slower); `sketchprep.native.AVAILABLE` and the
service's `ready` log line say which is in use.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sketchprep._native",
            ["sketchprep/_native.c"],
            py_limited_api=True,
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=c11"],
            optional=True,
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
