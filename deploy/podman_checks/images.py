"""Building the images: the stand-in bases (on a debootstrap-made bookworm) and the project's own."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .podman_cli import Podman
from .report import CheckFailed, Report, Skip, say
from .settings import BASES, CACHE, DEBIAN, DEBIAN_MIRROR, REPO


def make_bases(podman: Podman, report: Report) -> None:
    if not podman.image_exists(DEBIAN):
        with report.timed("debootstrap_base"), tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            root = Path(tmp) / "rootfs"
            say(f"debootstrap --variant=minbase bookworm (cached afterwards as {DEBIAN})")
            p = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise CheckFailed(f"debootstrap failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
            (root / "etc/apt/sources.list").write_text(
                "deb http://deb.debian.org/debian bookworm main\n"
                "deb http://deb.debian.org/debian bookworm-updates main\n"
                "deb http://deb.debian.org/debian-security bookworm-security main\n")
            for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
                for f in (root / junk).glob("*"):
                    if f.is_file():
                        f.unlink()
            tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            imp = subprocess.run(["podman", "--runtime", podman.runtime, "import", "-q", "--change", 'CMD ["bash"]',
                                  "-", DEBIAN], stdin=tar.stdout, env=podman.env, capture_output=True, text=True)
            tar.wait()
            if imp.returncode != 0 or tar.returncode != 0:
                raise CheckFailed(f"podman import failed: {imp.stderr}")
    # Can runc start a container here at all? If not, nothing below can run: skip, not fail.
    p = podman("run", "--rm", "--network", "none", DEBIAN, "true", check=False, quiet=True)
    if p.returncode != 0:
        raise Skip(f"podman/runc cannot start a container here: {p.stderr.strip()[-400:]}")
    ctx = CACHE / "base-context"
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(REPO / "docker" / "base", ctx)
    (ctx / "extra-ca").mkdir()
    (ctx / "extra-ca" / "README").write_text("the build host's /usr/local/share/ca-certificates\n")
    for crt in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
        shutil.copy(crt, ctx / "extra-ca" / crt.name)
    for key, (tag, recipe) in BASES.items():
        with report.timed(f"build_base_{key}"):
            podman("build", "--network", "host", *podman.ulimits, "--format", "docker", "--build-arg",
                   f"DEBIAN_IMAGE={DEBIAN}", "-f", str(ctx / recipe), "-t", tag, str(ctx),
                   log=CACHE / f"build-{key}.log")


def build(podman: Podman, report: Report, name: str, tag: str, args: list[str], no_cache: bool) -> None:
    log = CACHE / f"build-{name}.log"
    with report.timed(f"build_{name}"):
        podman("build", "--network", "host", *podman.ulimits, "--format", "docker", *(["--no-cache"] * no_cache),
               "-f", "docker/Dockerfile", *args, "-t", tag, str(REPO), log=log, timeout=1800)
    text = log.read_text()
    # The build failed otherwise (the RUN steps end in `pip check`); with podman's layer cache it ran earlier.
    ran = "No broken requirements found." in text
    report.check(f"{name} image builds, `pip check` passing inside", ran or "Using cache" in text,
                 "ran in this build" if ran else "cached layers of an earlier build (--no-cache runs it again)")
    report.data["images"].setdefault(tag, {})["built_from_cache"] = not ran
    size = podman.inspect("image", tag)["Size"]
    report.data["images"][tag].update({"size_bytes": size, "size_mb": round(size / 1e6, 1)})
    say(f"{tag}: {size / 1e6:.1f} MB")
