"""The images' locks (docker/requirements/*.txt) hold for every Python an image may use (deploy/lockcheck.py).

The defect this guards against (issue 18): serve.txt was made on Python 3.11.7 and missed async-timeout, which
redis 8.1.0 requires below Python 3.11.3; the CPU image built on Debian bookworm's Python 3.11.2 stopped at
`pip check`. The check evaluates each locked package's own requirements, environment markers included, with
the packages' wheel metadata (docker/requirements/lock-metadata.json) for every Python from 3.11.2 to 3.12.x.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType

import pytest
from deploy_support import REPO


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockcheck", REPO / "deploy" / "lockcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["lockcheck"] = module
    spec.loader.exec_module(module)
    return module


lockcheck = _load()
SERVE = (lockcheck.REQ_DIR / "serve.txt").read_text()


def test_every_lock_holds_for_every_python_the_images_use() -> None:
    assert {"3.11.2", "3.11.13", "3.12.3"} <= set(lockcheck.PYTHONS)  # bookworm, python:3.11.13, Ubuntu 24.04
    problems = lockcheck.check()
    assert not problems, "\n".join(problems)


def test_the_snapshot_is_the_metadata_of_exactly_the_locked_versions() -> None:
    meta = lockcheck.load_snapshot()
    pinned = {lockcheck.key(p.name, p.version) for image in lockcheck.IMAGES for f in image.locks
              for p in lockcheck.read_lock(lockcheck.REQ_DIR / f)}
    missing = pinned - set(meta)
    assert not missing, f"run `python deploy/lockcheck.py snapshot`: no metadata for {sorted(missing)}"
    assert not set(meta) - pinned, f"stale entries in lock-metadata.json: {sorted(set(meta) - pinned)}"
    for k, m in meta.items():
        assert m.wheels and all(w.endswith(".whl") for w in m.wheels), k
        assert k.endswith(f"=={m.version}")


def test_the_check_finds_the_lock_made_on_one_python() -> None:
    """Today's defect: the lock without async-timeout fails on 3.11.2 (both API images) and only there."""
    old = "\n".join(ln for ln in SERVE.splitlines() if not ln.startswith("async-timeout"))
    problems = lockcheck.check({"serve.txt": old})
    assert problems
    assert all("async-timeout" in p and "redis==8.1.0" in p for p in problems), problems
    assert {re.search(r"on Python (\S+):", p).group(1) for p in problems} == {"3.11.2"}  # type: ignore[union-attr]
    assert {p.split(" ")[0] for p in problems} == {"api-cpu", "api-gpu"}


def test_the_check_finds_a_pin_nothing_needs() -> None:
    """Without its marker async-timeout would be installed where redis does not need it: reported."""
    unmarked = re.sub(r"^(async-timeout==\S+)\s*;.*$", r"\1", SERVE, flags=re.M)
    assert unmarked != SERVE
    problems = lockcheck.check({"serve.txt": unmarked}, pythons=["3.11.2", "3.11.3", "3.12.3"])
    assert problems and all("async-timeout" in p and "nothing requires it" in p for p in problems), problems
    assert not any("3.11.2" in p for p in problems)


def test_the_check_finds_a_version_the_requirer_excludes_and_a_missing_wheel() -> None:
    low = SERVE.replace("anyio==4.16.0", "anyio==3.0.0")
    meta = lockcheck.load_snapshot()
    meta[lockcheck.key("anyio", "3.0.0")] = meta[lockcheck.key("anyio", "4.16.0")]
    problems = lockcheck.check({"serve.txt": low}, meta=meta, pythons=["3.12.3"])
    assert any("requires `anyio" in p and "the lock has anyio==3.0.0" in p for p in problems), problems

    k = lockcheck.key("uvloop", "0.23.0")
    meta = lockcheck.load_snapshot()
    meta[k].wheels = [w for w in meta[k].wheels if "cp312" not in w]
    problems = lockcheck.check(meta=meta, pythons=["3.11.2", "3.12.3"])
    assert problems and all("uvloop==0.23.0 has no wheel" in p and "3.12.3" in p for p in problems), problems


@pytest.mark.parametrize("python,expected", [("3.11.2", True), ("3.11.3", False), ("3.12.3", False)])
def test_markers_are_evaluated_for_the_full_python_version(python: str, expected: bool) -> None:
    from packaging.markers import Marker

    assert lockcheck.marker_true(Marker('python_full_version < "3.11.3"'), python) is expected
