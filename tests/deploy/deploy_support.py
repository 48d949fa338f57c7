"""Helpers for the deployment tests: the settings' environment variables, compose/Dockerfile/.dockerignore
parsing, PromQL metric names, and a real `python -m service` in a subprocess."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from server_proc import ServerProc

from service.core.settings import Settings, env_names

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "models" / "gacl"


# --- settings --------------------------------------------------------------------------------------------
def settings_env_names() -> dict[str, list[str]]:
    """Each Settings field -> the environment variable names it is read from (as pydantic-settings does)."""
    return env_names()


def field_for_env(name: str) -> str | None:
    for field_name, names in settings_env_names().items():
        if name.upper() in (n.upper() for n in names):
            return field_name
    return None


def settings_from_env(env: dict[str, str]) -> Settings:
    """Settings as the service would read them from exactly these environment variables."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("SKETCHQ_") or k == "REDIS_URL"}
    for k in saved:
        del os.environ[k]
    try:
        os.environ.update(env)
        return Settings()
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def served_paths() -> set[str]:
    """The HTTP paths the app serves (from its OpenAPI document: no model is loaded for it)."""
    from service.main import create_app

    return set(create_app(Settings()).openapi()["paths"])


# --- YAML and compose ------------------------------------------------------------------------------------
class ComposeLoader(yaml.SafeLoader):
    """PyYAML loader that accepts Compose's merge tags (`!reset`, `!override`)."""


def _tagged(tag: str):  # noqa: ANN202
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            value: Any = loader.construct_mapping(node, deep=True)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_scalar(node)
        return {tag: value}
    return construct


ComposeLoader.add_constructor("!reset", _tagged("!reset"))
ComposeLoader.add_constructor("!override", _tagged("!override"))


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506  (a SafeLoader subclass)


def load_yaml_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}")


def interpolate_defaults(value: str) -> str:
    """Compose interpolation as if no variable were set: `${X:-default}` -> default, `${X}` -> ''."""
    return _VAR.sub(lambda m: m.group(2) or "", value)


def uses_variable(value: str) -> str | None:
    m = _VAR.search(value)
    return m.group(1) if m else None


def env_mapping(env: Any) -> dict[str, str | None]:
    """A service's `environment` (mapping or list form) as a dict; None = pass-through from the shell."""
    if env is None:
        return {}
    if isinstance(env, dict):
        return {str(k): (None if v is None else str(v)) for k, v in env.items()}
    out: dict[str, str | None] = {}
    for item in env:
        k, sep, v = str(item).partition("=")
        out[k] = v if sep else None
    return out


def parse_duration_s(text: str) -> float:
    """Compose durations: '45s', '1m30s', '500ms'."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(text))
    assert parts, f"not a duration: {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def image_is_pinned(image: str) -> bool:
    """NAME:TAG with a tag carrying a version number (or an @sha256 digest); never `latest` or no tag."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag (the colon belonged to a registry port)
        return False
    return tag != "latest" and bool(re.search(r"\d", tag))


# --- Dockerfile ------------------------------------------------------------------------------------------
@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


@dataclass
class Dockerfile:
    args: dict[str, str]  # global ARGs (before the first FROM) with their defaults
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def resolve(self, text: str, extra: dict[str, str] | None = None) -> str:
        values = {**self.args, **(extra or {})}
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values.get(m.group(1), m.group(0)), text)


def parse_dockerfile(path: Path) -> Dockerfile:
    lines: list[str] = []
    buf = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment inside a continued instruction
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        lines.append(buf + stripped)
        buf = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        rest = rest.strip()
        if instr == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(name, words[0]))
        elif instr == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        elif stages:
            stages[-1].instructions.append((instr, rest))
    return Dockerfile(args, stages)


def copy_parts(arguments: str) -> tuple[dict[str, str], list[str], str]:
    """COPY arguments -> (flags, sources, destination); handles the JSON form too."""
    flags: dict[str, str] = {}
    words = shlex.split(arguments)
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    if words and words[0].startswith("["):
        import json
        words = json.loads(" ".join(words))
    return flags, words[:-1], words[-1]


# --- .dockerignore ---------------------------------------------------------------------------------------
def _pattern_matches(pattern: str, path: str) -> bool:
    """Docker's pattern semantics (filepath.Match plus `**`), matching the path or any of its parents."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex += ".*"
            i += 2
            if pattern.startswith("/", i):
                regex = regex[:-2] + "(?:.*/)?"
                i += 1
        else:
            c = pattern[i]
            regex += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
    rx = re.compile(regex + r"\Z")
    parts = path.split("/")
    return any(rx.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether the build context leaves `path` (relative, '/'-separated) out: the last matching rule wins."""
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = os.path.normpath(raw[1:] if negate else raw).strip("/")
        if _pattern_matches(pattern, path):
            excluded = not negate
    return excluded


def read_dockerignore(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]


# --- PromQL ----------------------------------------------------------------------------------------------
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                   "offset", "inf", "nan"}


@dataclass
class QueryRefs:
    metrics: set[str]
    matcher_labels: set[str]  # labels in {...} selectors
    grouping_labels: set[str]  # labels in by (...) / without (...) / on (...) / ignoring (...)


def promql_refs(expr: str) -> QueryRefs:
    """Metric names and label names a PromQL expression uses (enough PromQL for dashboards)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values, regexes)
    matcher_labels = {m for sel in re.findall(r"\{([^}]*)\}", text)
                      for m in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", sel)}
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    grouping = set()
    for words in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        grouping |= {w.strip() for w in words.split(",") if w.strip()}
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    metrics = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\b(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_KEYWORDS:
            continue
        metrics.add(word)
    return QueryRefs(metrics, matcher_labels, grouping)


def grafana_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel, rows included."""
    out = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    return out


def exposition_names(text: str) -> dict[str, set[str]]:
    """Every sample name a Prometheus text exposition defines -> the label names seen on it.

    Families without samples yet (labelled metrics never observed) still count, with their standard sample
    names (histogram: _bucket/_sum/_count, counter: _total, ...)."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {"histogram": ["_bucket", "_sum", "_count", "_created"], "counter": ["_total", "_created"],
                "summary": ["", "_sum", "_count", "_created"], "gauge": [""], "info": ["_info"],
                "untyped": [""], "unknown": [""], "stateset": [""], "gaugehistogram": ["_bucket", "_gsum", "_gcount"]}
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(text):
        for suffix in suffixes.get(fam.type, [""]):
            out.setdefault(fam.name + suffix, set())
        for s in fam.samples:
            out.setdefault(s.name, set()).update(s.labels)
    return out


# --- a real server ---------------------------------------------------------------------------------------
class Server(ServerProc):
    """The shared test server (tests/server_proc.py) on the shipped model with the cache off, unless the
    settings say otherwise."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**{"model_dir": MODEL_DIR, "cache": "off", **settings})
