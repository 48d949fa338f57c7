"""Do the pinned requirement files of the images (docker/requirements/*.txt) hold for every interpreter the
images may use?

A lock made on one Python can be wrong on another: redis 8.1.0 requires `async-timeout>=4.0.3;
python_full_version < "3.11.3"`, so a lock made on 3.11.7 misses it, and the image built on Debian bookworm's
Python 3.11.2 stops at `pip check`. This module evaluates every locked package's own requirements (their
environment markers included) for each Python from 3.11.2 to 3.12.x on Linux x86_64 and reports what the
lock lacks, pins at a version the requirement excludes, or holds without any use.

The packages' metadata (Requires-Dist, Requires-Python, the wheel files of the pinned version) comes from
the wheels on PyPI and is kept next to the locks in docker/requirements/lock-metadata.json, so the check
itself needs no network:

    .venv/bin/python deploy/lockcheck.py snapshot   # after changing a lock: fetch the wheels' metadata (PyPI)
    .venv/bin/python deploy/lockcheck.py check      # exit 1 and a list of problems when a lock does not hold

tests/deploy/test_locks.py runs the check; deploy/podman_stack.py runs it before building, and then proves the
CPU images by building them (`pip check` inside).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import ssl
import sys
import tomllib
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
REQ_DIR = REPO / "docker" / "requirements"
SNAPSHOT = REQ_DIR / "lock-metadata.json"
INDEX = os.environ.get("SKETCHQ_LOCK_INDEX", "https://pypi.org/simple")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sketchq" / "wheels"

# Every interpreter an image may be built on: Debian bookworm's python3 (3.11.2, the locally made base of
# deploy/podman_stack.py), python:3.11.13-slim-bookworm (the CPU and training images' default base), Ubuntu
# 24.04's python3 (3.12.3, the CUDA base of the GPU image), and any patch release in between or after.
PYTHONS = [f"3.11.{p}" for p in range(2, 16)] + [f"3.12.{p}" for p in range(0, 16)]
# Linux x86_64 with glibc 2.36 (Debian bookworm; Ubuntu 24.04 has 2.39, so what installs here installs there).
GLIBC = (2, 36)


@dataclass(frozen=True)
class Image:
    name: str
    locks: tuple[str, ...]  # files under docker/requirements, installed together
    roots: tuple[str, ...]  # pyproject extras the image must satisfy (+ "build" for the build backend)
    complete: bool  # installed with --no-deps: every requirement must be in the lock


IMAGES = (
    Image("api-cpu", ("serve.txt", "ort-cpu.txt"), ("serve",), True),
    Image("api-gpu", ("serve.txt", "ort-gpu.txt"), ("serve-gpu",), True),
    # `pip install -r train.txt` (with dependencies): torch pins its CUDA wheels exactly itself, so a requirement
    # the lock lacks is allowed only when the package that needs it pins it with `==`.
    Image("train", ("train.txt",), ("train", "build"), False),
)


# --- markers ---------------------------------------------------------------------------------------------
def environment(python: str) -> dict[str, str]:
    """PEP 508 marker environment of CPython `python` on Linux x86_64."""
    v = Version(python)
    return {"python_version": f"{v.major}.{v.minor}", "python_full_version": python,
            "implementation_name": "cpython", "implementation_version": python,
            "platform_python_implementation": "CPython", "os_name": "posix", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64", "platform_release": "",
            "platform_version": "", "extra": ""}


def marker_true(marker: Marker | None, python: str, extras: Iterable[str] = ()) -> bool:
    if marker is None:
        return True
    env = environment(python)
    return any(marker.evaluate({**env, "extra": e}) for e in ("", *extras))


def wheel_tags(python: str) -> list[Tag]:
    """Tags pip accepts on CPython `python` (Linux x86_64, glibc GLIBC), most specific first."""
    v = Version(python)
    platforms = [f"manylinux_{GLIBC[0]}_{m}_x86_64" for m in range(GLIBC[1], 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    py = (v.major, v.minor)
    return list(cpython_tags(py, platforms=platforms)) + list(compatible_tags(py, platforms=platforms))


# --- lock files ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    extras: frozenset[str]
    marker: Marker | None
    line: str
    file: str


def read_lock(path: Path, text: str | None = None) -> list[Pin]:
    out = []
    for raw in (path.read_text() if text is None else text).splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise ValueError(f"{path.name}: {line!r} is not an exact == pin")
        out.append(Pin(canonicalize_name(req.name), specs[0].version, frozenset(req.extras), req.marker, line,
                       path.name))
    return out


def pyproject_roots(image: Image) -> list[Requirement]:
    """The requirements an image must satisfy: the pyproject extras it is built for, expanded."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    out = [Requirement(r) for r in project["project"]["dependencies"]]
    todo = list(image.roots)
    while todo:
        extra = todo.pop()
        if extra == "build":
            out += [Requirement(r) for r in project["build-system"]["requires"]]
            continue
        for r in extras[extra]:
            req = Requirement(r)
            if canonicalize_name(req.name) == "sketchq":
                todo += list(req.extras)
            else:
                out.append(req)
    return out


# --- the check -------------------------------------------------------------------------------------------
@dataclass
class Metadata:
    version: str
    requires_python: str
    requires_dist: list[str]
    wheels: list[str] = field(default_factory=list)


def load_snapshot(path: Path = SNAPSHOT) -> dict[str, Metadata]:
    data = json.loads(path.read_text())["packages"]
    return {k: Metadata(**v) for k, v in data.items()}


def key(name: str, version: str) -> str:
    return f"{name}=={version}"


def check_image(image: Image, pins: list[Pin], meta: dict[str, Metadata], python: str) -> list[str]:
    """Problems of one image's lock on one interpreter (empty: it holds)."""
    where = f"{image.name} on Python {python}"
    installed = {p.name: p for p in pins if marker_true(p.marker, python)}
    problems: list[str] = []
    extras: dict[str, set[str]] = {n: set(p.extras) for n, p in installed.items()}
    used: set[str] = set()
    tags = wheel_tags(python)

    def need(req: Requirement, by: str) -> None:
        name = canonicalize_name(req.name)
        if name not in installed:
            exact = [s for s in req.specifier if s.operator == "=="]
            if image.complete or not exact:
                lines = [p.line for p in pins if p.name == name]
                hint = f" (the lock has `{lines[0]}`, its marker excludes this Python)" if lines else ""
                problems.append(f"{where}: {by} requires `{req}`, which is not installed{hint}")
            return
        pin = installed[name]
        used.add(name)
        if not req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{where}: {by} requires `{req}`, the lock has {pin.name}=={pin.version}")
        new = set(req.extras) - extras[name]
        if new:
            extras[name] |= new
            pending.append(name)

    pending = list(installed)
    for req in pyproject_roots(image):
        if marker_true(req.marker, python):
            need(req, "pyproject.toml")
    done: dict[str, set[str]] = {}
    while pending:
        name = pending.pop()
        if done.get(name) == extras[name]:
            continue
        done[name] = set(extras[name])
        pin = installed[name]
        m = meta.get(key(name, pin.version))
        if m is None:
            problems.append(f"{where}: no metadata for {name}=={pin.version} in {SNAPSHOT.name} "
                            f"(run `python deploy/lockcheck.py snapshot`)")
            continue
        if m.requires_python and not SpecifierSet(m.requires_python).contains(python, prereleases=True):
            problems.append(f"{where}: {name}=={pin.version} requires Python {m.requires_python}")
        if not any(set(parse_wheel_filename(w)[3]) & set(tags) for w in m.wheels):
            problems.append(f"{where}: {name}=={pin.version} has no wheel for this Python on Linux x86_64 "
                            f"(glibc {GLIBC[0]}.{GLIBC[1]}), so pip would try to build it from source")
        for r in m.requires_dist:
            req = Requirement(r)
            if marker_true(req.marker, python, extras[name]):
                need(req, f"{name}=={pin.version}")
    if "build" in image.roots:  # the build backend is installed from the lock too (--no-build-isolation)
        used |= {canonicalize_name(r.name) for r in pyproject_roots(Image("", (), ("build",), False))}
    for name in sorted(set(installed) - used):
        problems.append(f"{where}: `{installed[name].line}` ({installed[name].file}) is installed but nothing "
                        f"requires it on this Python (give it an environment marker, or drop it)")
    return problems


def check(lock_texts: dict[str, str] | None = None, meta: dict[str, Metadata] | None = None,
          pythons: Iterable[str] = PYTHONS) -> list[str]:
    """Problems of every image on every interpreter; `lock_texts` replaces files' contents (for tests)."""
    meta = load_snapshot() if meta is None else meta
    texts = lock_texts or {}
    problems: list[str] = []
    for image in IMAGES:
        pins = [p for f in image.locks for p in read_lock(REQ_DIR / f, texts.get(f))]
        for python in pythons:
            problems += check_image(image, pins, meta, python)
    return problems


# --- the snapshot (network: PyPI) ------------------------------------------------------------------------
def _get(url: str, accept: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
    with urllib.request.urlopen(req, timeout=120, context=ctx) as r:  # noqa: S310 (https index)
        return r.read()


def fetch_metadata(name: str, version: str) -> Metadata:
    """Requires-Dist and Requires-Python from a Linux x86_64 wheel of name==version, and its wheel files."""
    index = json.loads(_get(f"{INDEX}/{name}/", "application/vnd.pypi.simple.v1+json"))
    files = []
    for f in index["files"]:
        if not f["filename"].endswith(".whl") or f.get("yanked"):
            continue
        try:
            _, v, _, tags = parse_wheel_filename(f["filename"])
        except InvalidWheelFilename:  # ancient uploads
            continue
        if v == Version(version):
            files.append((f, tags))
    linux = [t for p in ("3.11.2", "3.12.0") for t in wheel_tags(p)]
    usable = [(f, tags) for f, tags in files if set(tags) & set(linux)]
    if not usable:
        raise SystemExit(f"{name}=={version}: no wheel for Linux x86_64 on PyPI")
    f, _ = min(usable, key=lambda ft: f.get("size") or 0)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f["filename"]
    sha = f.get("hashes", {}).get("sha256")
    if not path.exists() or (sha and hashlib.sha256(path.read_bytes()).hexdigest() != sha):
        url = f["url"] if "://" in f["url"] else urllib.parse.urljoin(f"{INDEX}/{name}/", f["url"])
        data = _get(url)
        if sha and hashlib.sha256(data).hexdigest() != sha:
            raise SystemExit(f"{f['filename']}: sha256 mismatch")
        path.write_bytes(data)
    with zipfile.ZipFile(path) as z:
        (meta_name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        msg = email.parser.Parser().parsestr(z.read(meta_name).decode())
    return Metadata(version=version, requires_python=msg.get("Requires-Python", "") or "",
                    requires_dist=list(msg.get_all("Requires-Dist") or []),
                    wheels=sorted(f["filename"] for f, tags in usable))


def snapshot() -> None:
    wanted = sorted({(p.name, p.version) for image in IMAGES for f in image.locks for p in read_lock(REQ_DIR / f)})
    packages = {}
    for name, version in wanted:
        print(f"  {name}=={version}", file=sys.stderr)
        packages[key(name, version)] = fetch_metadata(name, version).__dict__
    doc = {"about": "Metadata of every package pinned in docker/requirements/*.txt, from its Linux x86_64 "
                    "wheels on PyPI (`python deploy/lockcheck.py snapshot`); deploy/lockcheck.py and "
                    "tests/deploy/test_locks.py check the locks against it for every Python the images use.",
           "packages": packages}
    SNAPSHOT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"wrote {SNAPSHOT.relative_to(REPO)} ({len(packages)} packages)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["check", "snapshot"])
    args = ap.parse_args(argv)
    if args.command == "snapshot":
        snapshot()
    problems = check()
    for p in problems:
        print(p)
    n = len(PYTHONS)
    print(f"lockcheck: {len(problems)} problem(s); {len(IMAGES)} images x {n} Pythons "
          f"({PYTHONS[0]} .. {PYTHONS[-1]}), Linux x86_64", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
