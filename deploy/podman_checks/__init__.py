"""The checks deploy/podman_stack.py runs with podman, one module per job (settings.py: what they share).

The entry point puts tests/, tests/deploy/ and deploy/ on sys.path before importing this package: the checks
import helpers shared with the tests (tests/server_proc.py, tests/deploy/deploy_support.py) and deploy/lockcheck.py.
"""
