"""podman itself: the wrapper that runs it (runc, ulimits) and the preflight that finds it or skips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .report import CheckFailed, Skip, say
from .settings import CACHE


class Podman:
    """podman with runc and explicit ulimits (crun, and podman's default RLIMIT_NOFILE of 1048576, fail on
    this kind of machine), through a containers.conf of our own so that podman-compose gets them too."""

    def __init__(self, runtime: str) -> None:
        self.runtime = runtime
        CACHE.mkdir(parents=True, exist_ok=True)
        conf = CACHE / "containers.conf"
        # Modest values at or below the host's hard limits (on this kind of machine setting RLIMIT_NPROC to 65536
        # is refused even below the hard limit; nginx's 4096 worker connections need more than 4096 files).
        nofile = min(_hard_limit("RLIMIT_NOFILE"), 16384)
        nproc = min(_hard_limit("RLIMIT_NPROC"), 4096)
        conf.write_text(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
                        f'[engine]\nruntime = "{runtime}"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.ulimits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]

    def __call__(self, *args: str, check: bool = True, timeout: float = 600, quiet: bool = False,
                 log: Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["podman", "--runtime", self.runtime, *args]
        if not quiet:
            say("$ " + " ".join(cmd))
        if log is not None:
            with log.open("w") as f:
                p = subprocess.run(cmd, env=self.env, stdout=f, stderr=subprocess.STDOUT, text=True, timeout=timeout)
            p.stdout = log.read_text()
        else:
            p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            tail = "\n".join((p.stdout + (p.stderr or "")).splitlines()[-40:])
            raise CheckFailed(f"`{' '.join(cmd)}` exited with {p.returncode}:\n{tail}")
        return p

    def image_exists(self, name: str) -> bool:
        return self("image", "exists", name, check=False, quiet=True).returncode == 0

    def inspect(self, what: str, name: str) -> dict[str, Any]:
        return json.loads(self(what, "inspect", name, quiet=True).stdout)[0]


def _hard_limit(name: str) -> int:
    import resource

    hard = resource.getrlimit(getattr(resource, name))[1]
    return 65536 if hard == resource.RLIM_INFINITY else hard


def preflight(install: bool) -> Podman:
    if sys.platform != "linux":
        raise Skip(f"podman containers need Linux (this is {sys.platform})")
    if os.geteuid() != 0:
        raise Skip("needs root (debootstrap and rootful podman); run it with sudo")
    missing = [t for t in ("podman", "runc", "debootstrap") if not shutil.which(t)]
    if missing and install:
        say(f"installing podman runc debootstrap (Debian packages; missing: {' '.join(missing)})")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        ok = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0 and subprocess.run(
            ["apt-get", "install", "-y", "-qq", "podman", "runc", "debootstrap"], env=env,
            stdout=subprocess.DEVNULL).returncode == 0
        if not ok:
            raise Skip("apt-get could not install podman, runc and debootstrap")
        missing = [t for t in ("podman", "runc", "debootstrap") if not shutil.which(t)]
    if missing:
        raise Skip(f"{', '.join(missing)} not installed (apt-get install podman runc debootstrap, or --install-tools)")
    podman = Podman(shutil.which("runc") or "runc")
    info = podman("info", "--format", "json", check=False, quiet=True)
    if info.returncode != 0:
        raise Skip(f"`podman info` fails: {info.stderr.strip()[-300:]}")
    return podman
