"""docker/Dockerfile, .dockerignore and the pinned requirements: what can be checked without building."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from deploy_support import (
    REPO,
    Dockerfile,
    copy_parts,
    dockerignore_excludes,
    image_is_pinned,
    read_dockerignore,
    settings_from_env,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQ_DIR = REPO / "docker" / "requirements"


def pins(path: Path) -> dict[str, str]:
    """Requirement file -> {canonical name: version}; every requirement must be an exact `==` pin."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, \
            f"{path.name}: {line!r} is not pinned with =="
        out[canonicalize_name(req.name)] = specs[0].version
    return out


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_stage_base_is_pinned(dockerfile: Dockerfile) -> None:
    stage_names = {s.name for s in dockerfile.stages}
    variants = ["gpu", "cpu"]
    for s in dockerfile.stages:
        for variant in variants:
            base = dockerfile.resolve(s.base, {"VARIANT": variant})
            if base in stage_names:
                continue
            assert "$" not in base, f"unresolved {s.base}"
            assert image_is_pinned(base), f"stage {s.name}: {base}"


def test_copy_sources_exist_and_are_in_the_build_context(dockerfile: Dockerfile) -> None:
    patterns = read_dockerignore(REPO / ".dockerignore")
    stage_names = {s.name for s in dockerfile.stages}
    copied = 0
    for s in dockerfile.stages:
        for instr, rest in s.instructions:
            if instr not in ("COPY", "ADD"):
                continue
            assert instr == "COPY", "use COPY (ADD fetches and unpacks)"
            flags, sources, _dest = copy_parts(rest)
            if "from" in flags:
                assert flags["from"] in stage_names, f"COPY --from={flags['from']}: no such stage"
                continue
            for src in sources:
                path = REPO / src
                assert path.exists(), f"stage {s.name}: COPY {src} does not exist"
                rel = src.rstrip("/")
                assert not dockerignore_excludes(patterns, rel), f"{src} is excluded by .dockerignore"
                if path.is_dir():  # the files inside are let in too (not excluded by a later pattern)
                    for f in path.rglob("*"):
                        if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".so"):
                            assert not dockerignore_excludes(patterns, f.relative_to(REPO).as_posix()), f
                copied += 1
    assert copied >= 8
    # ... and what must stay out, does.
    for path in ("runs/x/last.pt", ".venv/bin/python", "tests/deploy/conftest.py", ".git/HEAD",
                 "service/__pycache__/main.cpython-311.pyc", "models/softmax/model.onnx",
                 "sketchprep/_native.abi3.so"):  # a binary built here never reaches an image: the image builds its own
        assert dockerignore_excludes(patterns, path), f"{path} would be sent to the Docker daemon"


def _stage_copies(dockerfile: Dockerfile, name: str) -> list[str]:
    return [src for instr, rest in dockerfile.stage(name).instructions if instr == "COPY"
            for src in copy_parts(rest)[1] if "from" not in copy_parts(rest)[0]]


def test_api_image_has_serving_code_and_the_models_only(dockerfile: Dockerfile) -> None:
    copies = _stage_copies(dockerfile, "api")
    assert {c.rstrip("/") for c in copies} == {"service", "sketchprep", "models/gacl", "models/sketchrnn"}
    env = " ".join(rest for instr, rest in dockerfile.stage("api").instructions if instr == "ENV")
    dests = [copy_parts(rest)[2] for instr, rest in dockerfile.stage("api").instructions if instr == "COPY"]
    found = {}
    for var in ("SKETCHQ_MODEL_DIR", "SKETCHQ_ENHANCE_MODEL_DIR"):  # the scorer and the VAE of /enhance
        found[var] = re.search(rf"{var}=(\S+)", env).group(1)  # type: ignore[union-attr]
        assert found[var].rstrip("/") in [d.rstrip("/") for d in dests], var
    s = settings_from_env({**found, "SKETCHQ_HOST": "0.0.0.0"})
    assert str(s.model_dir) == found["SKETCHQ_MODEL_DIR"]
    assert str(s.enhance_model_dir) == found["SKETCHQ_ENHANCE_MODEL_DIR"]
    # No torch, no training code in any serving requirement.
    for f in ("serve.txt", "ort-cpu.txt", "ort-gpu.txt"):
        assert "torch" not in pins(REQ_DIR / f), f


def test_images_run_as_a_non_root_user_with_a_healthcheck(dockerfile: Dockerfile) -> None:
    for name in ("api", "train"):
        users = [rest for instr, rest in dockerfile.stage(name).instructions if instr == "USER"]
        assert users and users[-1].split(":")[0] not in ("root", "0"), name
    checks = [rest for instr, rest in dockerfile.stage("api").instructions if instr == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0]
    cmd = [rest for instr, rest in dockerfile.stage("api").instructions if instr == "CMD"]
    assert cmd == ['["python", "-m", "service"]']  # exec form: python is PID 1 and gets SIGTERM
    entry = [rest for instr, rest in dockerfile.stage("train").instructions if instr == "ENTRYPOINT"]
    assert entry == ['["sketchq-train"]'] and "sketchq-train" in pyproject()["project"]["scripts"]


def test_the_api_stage_is_the_default_target(dockerfile: Dockerfile) -> None:
    assert dockerfile.stages[-1].name == "api"
    assert dockerfile.args["VARIANT"] == "gpu"
    for variant in ("gpu", "cpu"):
        assert f"venv-{variant}" in {s.name for s in dockerfile.stages}
        assert f"base-{variant}" in {s.name for s in dockerfile.stages}


def test_gpu_base_matches_the_onnxruntime_gpu_build(dockerfile: Dockerfile) -> None:
    """The CUDA/cuDNN of the base image are the ones ort-gpu.txt says its wheel was built for."""
    cuda_image = dockerfile.args["CUDA_IMAGE"]
    m = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.\d+-cudnn-runtime-ubuntu\d+\.\d+", cuda_image)
    assert m, cuda_image
    note = (REQ_DIR / "ort-gpu.txt").read_text()
    assert cuda_image in note
    assert f"cuda_version = '{m.group(1)}.{m.group(2)}'" in note
    assert "libcudnn.so.9" in note  # cuDNN 9: the cudnn variant of CUDA >= 12.4 images ships cuDNN 9
    assert list(pins(REQ_DIR / "ort-gpu.txt")) == ["onnxruntime-gpu"]
    assert list(pins(REQ_DIR / "ort-cpu.txt")) == ["onnxruntime"]


@pytest.mark.parametrize("name", ["serve.txt", "ort-cpu.txt", "ort-gpu.txt", "train.txt"])
def test_requirements_are_pinned(name: str) -> None:
    assert pins(REQ_DIR / name)


def test_serving_lock_satisfies_pyproject() -> None:
    """Every dependency of the `serve` / `serve-gpu` extras is in the lock, at a version pyproject allows."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    lock = pins(REQ_DIR / "serve.txt")
    for variant, ort_file in (("serve", "ort-cpu.txt"), ("serve-gpu", "ort-gpu.txt")):
        locked = {**lock, **pins(REQ_DIR / ort_file)}
        reqs = [Requirement(r) for r in project["dependencies"]]
        for r in extras[variant]:
            req = Requirement(r)
            if canonicalize_name(req.name) == "sketchq":
                reqs += [Requirement(x) for extra in req.extras for x in extras[extra]]
            else:
                reqs.append(req)
        for req in reqs:
            name = canonicalize_name(req.name)
            assert name in locked, f"{variant}: {req} is not in docker/requirements"
            assert req.specifier.contains(locked[name], prereleases=True), f"{variant}: {req} vs {locked[name]}"
        assert not ({"onnxruntime", "onnxruntime-gpu"} <= set(locked))


def test_training_lock_satisfies_pyproject() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    locked = pins(REQ_DIR / "train.txt")
    for r in extras["train"] + pyproject()["project"]["dependencies"]:
        req = Requirement(r)
        name = canonicalize_name(req.name)
        assert name in locked, f"train: {req} is not in docker/requirements/train.txt"
        assert req.specifier.contains(locked[name], prereleases=True), f"train: {req} vs {locked[name]}"


FIRST_PARTY = ("service", "sketchprep")


def _module_file(module: str) -> Path | None:
    path = REPO.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _served_modules_imports(entry: str = "service.__main__") -> tuple[set[str], set[str]]:
    """(first-party modules `python -m service` reaches, top-level names of the others they import).

    Offline tools that live in service/ but that the service never imports (`python -m service.web.examples`,
    `python -m service.docs`) are not in the image's runtime path and do not count."""
    seen: set[str] = set()
    roots: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                names.append(base)
                names += [f"{base}.{a.name}" for a in node.names]  # `from service import x` may be a module
        for name in names:
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                for i in range(1, len(name.split(".")) + 1):  # the packages on the way (their __init__) too
                    todo.append(".".join(name.split(".")[:i]))
            elif top:
                roots.add(top)
    return seen, roots - set(sys.stdlib_module_names) - {"__future__"}


def test_the_api_image_has_every_package_the_service_imports() -> None:
    """An import added to what `python -m service` runs without its package in docker/requirements fails here."""
    dist_of = packages_distributions()
    lock = set(pins(REQ_DIR / "serve.txt")) | set(pins(REQ_DIR / "ort-cpu.txt"))
    modules, imports = _served_modules_imports()
    assert {"service.main", "service.inference.engine", "service.cache.select", "sketchprep.preprocess"} <= modules
    assert "service.web.examples" not in modules  # the offline tool that writes the page's examples
    assert {"onnxruntime", "redis", "uvicorn", "fastapi", "numpy"} <= imports
    for module in sorted(imports):
        dists = {canonicalize_name(d) for d in dist_of.get(module, [])}
        assert dists, f"`import {module}`: not installed here, cannot tell its package"
        assert dists & lock, f"`import {module}` ({dists}) is not in docker/requirements/serve.txt"


def test_the_api_image_gets_the_compiled_kernel_from_its_build_stage(dockerfile: Dockerfile) -> None:
    """sketchprep._native is built in the `native` stage (setup.py, as pip does; the build fails if it does not
    load) and copied next to sketchprep in the API image; .dockerignore keeps any host-built binary out."""
    native = dockerfile.stage("native").instructions
    assert any(instr == "RUN" and "setup.py" in rest and "_native.abi3.so" in rest for instr, rest in native)
    copies = [copy_parts(rest) for instr, rest in dockerfile.stage("api").instructions if instr == "COPY"]
    assert any(flags.get("from") == "native" and srcs == ["/src/sketchprep/_native.abi3.so"]
               and dest.rstrip("/") == "/app/sketchprep" for flags, srcs, dest in copies)
