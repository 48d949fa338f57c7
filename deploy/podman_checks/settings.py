"""Paths, image names, the podman-compose pins and the time bounds the checks share."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CACHE = Path(os.environ.get("SKETCHQ_PODMAN_CACHE",
                            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sketchq" / "podman"))
PREFIX = "sketchq-podman-check"  # names of the containers, the compose project and the network it makes

DEBIAN = "localhost/sketchq-debian:bookworm"
BASES = {  # stand-in image -> its recipe in docker/base
    "python": ("localhost/sketchq-python:3.11-bookworm", "python.Containerfile"),
    "redis": ("localhost/sketchq-redis:7.0-bookworm", "redis.Containerfile"),
    "nginx": ("localhost/sketchq-nginx:1.22-bookworm", "nginx.Containerfile"),
    "prometheus": ("localhost/sketchq-prometheus:2.42-bookworm", "prometheus.Containerfile"),
}
API_IMAGE = "localhost/sketchq-api:0.1.0-cpu"  # the name docker-compose.cpu.yml gives it
TRAIN_IMAGE = "localhost/sketchq-train:0.1.0-cuda"  # the name docker-compose.yml gives it
GPU_STANDIN_IMAGE = "localhost/sketchq-api:0.1.0-cuda-standin"  # the GPU image's steps on the Debian Python base
DEBIAN_MIRROR = os.environ.get("SKETCHQ_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PODMAN_COMPOSE = ["podman-compose==1.6.0", "python-dotenv==1.2.2", "pyyaml==6.0.3"]

READY_BOUND_S = 60.0  # the image's HEALTHCHECK start period; Kubernetes' startup probe allows 120 s
STOP_TIMEOUT_S = 45  # compose stop_grace_period and Kubernetes terminationGracePeriodSeconds
SHUTDOWN_GRACE_S = 5.0  # the service's default SKETCHQ_SHUTDOWN_GRACE_S (the image does not change it)
UID = "10001"
