"""The checks deploy/podman_stack.py runs with podman, one module per job (settings.py: what they share)."""

import sys

from .settings import REPO

# The helpers shared with the tests (tests/server_proc.py, tests/deploy/deploy_support.py) and deploy/lockcheck.py.
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "deploy"), str(REPO / "deploy")]
