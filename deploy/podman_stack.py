"""Build the images of docker/Dockerfile and run them for real, with podman: the CPU API image, the training
image, and the compose stack (two API replicas behind the nginx load balancer, the shared Redis, Prometheus).

    .venv/bin/python deploy/podman_stack.py                  # everything (cold: about 10 min on 2 cores)
    .venv/bin/python deploy/podman_stack.py --skip-train     # API image and stack only
    .venv/bin/python deploy/podman_stack.py --keep           # leave the stack running afterwards
    .venv/bin/python deploy/podman_stack.py --install-tools  # apt-get install podman runc debootstrap first (root)

Registry images (python, redis, nginx, prom/prometheus, nvidia/cuda) cannot be pulled where this runs, so
stand-ins are made from Debian's packages (docker/base/*.Containerfile) on a bookworm made with debootstrap;
docker/Dockerfile and docker-compose.yml keep the real images as their defaults and receive the stand-ins
as build arguments and through docker-compose.podman.yml. Grafana has no Debian package and is not run (its
dashboard is checked as files by tests/deploy, and its queries here against the real Prometheus). The GPU
image needs the CUDA base and a GPU: it is not built; its lock is checked for Python 3.12 (deploy/lockcheck.py).

What it asserts (docs/deployment.md, "What runs in CI"): the locks hold; the images build (`pip check` inside);
the API container is ready within READY_BOUND_S, answers /score, /attribute, /enhance and /v1/model exactly
as `python -m service` on the same models does, has the models baked in (same bytes) and read-only, runs as
uid 10001, passes its HEALTHCHECK, and on SIGTERM fails readiness, still answers, drains and exits 0 within
the grace period; the training image runs `sketchq-train` as non-root and exports the shipped checkpoint to
the very bytes of models/gacl/model.onnx; in the stack both replicas are ready, a sketch cached through
one replica is a hit on the other, the load balancer spreads requests over both and answers like the local
service, Redis runs with its LRU bound, Prometheus reports both replicas up and evaluates every dashboard
query, and `compose stop` ends both replicas with exit code 0.

Exit status: 0 when every check passed, or when podman cannot run containers here at all (the reason is
printed on a line starting with SKIPPED; --require turns that into a failure); 1 on any failed check.
Image sizes, build and start-up times go to the JSON report (--report, default runs/podman-stack/report.json).
Caches (the debootstrap base, podman's layer cache, the podman-compose virtualenv) live outside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

# deploy/ (podman_checks, lockcheck), then in front of it the helpers the checks share with the tests
# (tests/deploy/deploy_support.py, tests/server_proc.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from podman_checks.api_container import check_api_container
from podman_checks.http_probes import metric
from podman_checks.images import build, make_bases
from podman_checks.podman_cli import preflight
from podman_checks.reference import local_answers
from podman_checks.report import T0, CheckFailed, Report, Skip, diff_json, say
from podman_checks.settings import API_IMAGE, BASES, DEBIAN, GPU_STANDIN_IMAGE, REPO, TRAIN_IMAGE
from podman_checks.stack import check_stack, nginx_conf_for_podman, stack_down
from podman_checks.train_gpu_images import check_gpu_standin, check_train_image

# main, and what tests/deploy/test_podman_stack.py reads from this module
__all__ = ["API_IMAGE", "BASES", "DEBIAN", "TRAIN_IMAGE", "CheckFailed", "diff_json", "main", "metric",
           "nginx_conf_for_podman"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-tools", action="store_true", help="apt-get install podman runc debootstrap if missing")
    ap.add_argument("--require", action="store_true", help="fail (exit 1) instead of skipping where podman cannot run")
    ap.add_argument("--skip-train", action="store_true", help="do not build and check the training image")
    ap.add_argument("--skip-gpu-standin", action="store_true",
                    help="do not build the GPU variant on the stand-in base")
    ap.add_argument("--skip-stack", action="store_true", help="do not bring the compose stack up")
    ap.add_argument("--no-cache", action="store_true", help="build the project's images without podman's layer cache")
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--down", action="store_true", help="only stop and remove a stack left by --keep")
    ap.add_argument("--report", type=Path, default=REPO / "runs" / "podman-stack" / "report.json")
    args = ap.parse_args(argv)
    os.chdir(REPO)
    report = Report()
    report.data["command"] = "deploy/podman_stack.py " + " ".join(argv if argv is not None else sys.argv[1:])
    status = 0
    try:
        with report.timed("preflight_and_install_tools"):
            podman = preflight(args.install_tools)
        if args.down:
            stack_down(podman)
            say("stack removed")
            return 0
        report.data["podman"] = podman("--version", quiet=True).stdout.strip()
        import lockcheck

        problems = lockcheck.check()
        report.check(f"locks hold for Python {lockcheck.PYTHONS[0]}..{lockcheck.PYTHONS[-1]} "
                     "(CPU, GPU and training images)", not problems, problems)
        make_bases(podman, report)
        for tag in (DEBIAN, *(t for t, _ in BASES.values())):
            report.data["images"][tag] = {"size_mb": round(podman.inspect("image", tag)["Size"] / 1e6, 1)}
        python_base = BASES["python"][0]
        build(podman, report, "api", API_IMAGE, ["--build-arg", "VARIANT=cpu", "--build-arg",
                                                 f"PYTHON_IMAGE={python_base}", "--target", "api"], args.no_cache)
        with report.timed("local_reference_answers"):
            local = local_answers(report)
        with report.timed("check_api_container"):
            check_api_container(podman, report, local)
        if not args.skip_gpu_standin:
            build(podman, report, "gpu_standin", GPU_STANDIN_IMAGE,  # (the native stage is FROM PYTHON_IMAGE)
                  ["--build-arg", "VARIANT=gpu", "--build-arg", f"CUDA_IMAGE={python_base}", "--build-arg",
                   f"PYTHON_IMAGE={python_base}", "--target", "api"], args.no_cache)
            check_gpu_standin(podman, report)
        if not args.skip_train:
            build(podman, report, "train", TRAIN_IMAGE, ["--build-arg", f"PYTHON_IMAGE={python_base}",
                                                         "--target", "train"], args.no_cache)
            with report.timed("check_train_image"):
                check_train_image(podman, report)
        if not args.skip_stack:
            with report.timed("check_stack"):
                check_stack(podman, report, local, args.keep)
    except Skip as e:
        say(f"SKIPPED: the podman checks cannot run on this machine: {e}")
        report.data["skipped"] = str(e)
        status = 1 if args.require else 0
    except CheckFailed as e:
        say(f"FAILED: {e}")
        report.data["failed"] = str(e)
        status = 1
    except Exception as e:  # noqa: BLE001 (a crash is a failure too, with its traceback)
        traceback.print_exc()
        report.data["failed"] = repr(e)
        status = 1
    report.time("total", time.monotonic() - T0)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report.data, indent=1) + "\n")
    n_ok = sum(c["ok"] for c in report.data["checks"])
    say(f"{n_ok} checks passed, {len(report.data['checks']) - n_ok} failed; report: {args.report}")
    return status


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
