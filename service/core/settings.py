"""One typed settings object for the whole service, read from environment variables.

Every variable is `SKETCHQ_<FIELD>` (upper case), e.g. `SKETCHQ_MAX_BATCH=32`; the Redis URL is also read
from the conventional `REDIS_URL`. Every limit the service enforces is a named field here, and the
README's settings table is generated from these fields (`settings_table`, `python -m service.docs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKETCHQ_", extra="ignore", frozen=True, populate_by_name=True)

    # --- model and engine ---
    model_dir: Path = Field(Path("models/gacl"), description="folder with model.onnx and model_card.json")
    verify_model_sha256: bool = Field(True, description="refuse to start when model.onnx does not match the card")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA execution provider when available, else CPU; cuda: fail unless CUDA is active")
    cuda_device_id: int = Field(0, ge=0, description="GPU index for the CUDA execution provider")
    io_binding: Literal["auto", "on", "off"] = Field(
        "auto", description="ORT IO binding (auto: on for CUDA, off for CPU)")
    intra_op_threads: int = Field(
        1, ge=0, description="ORT threads inside one batch (0 = ORT default). 1 keeps results bit-identical "
                             "whatever the batch size; parallelism comes from engine_workers")
    engine_workers: int = Field(
        2, ge=1, le=64, description="batches computed concurrently (worker threads) in each service process")
    workers: int = Field(
        1, ge=1, le=64,
        description="service processes sharing the port (SO_REUSEPORT, one listening socket each; a supervisor "
                    "restarts one that dies); each loads the model and runs its own batcher, so CPU work is spread "
                    "over the cores without one event loop in the way. On a multi-core machine use one per core "
                    "with engine_workers=1. Caches, rate-limit buckets and the head guard are per process unless "
                    "Redis is configured (as between replicas); /metrics adds up every process")

    # --- micro-batching ---
    max_batch: int = Field(64, ge=1, le=4096, description="most sketches in one model call")
    max_wait_ms: float = Field(
        2.0, ge=0.0, le=10_000.0,
        description="how long the oldest queued sketch may wait for a fuller batch while a worker is free (at most)")
    batch_wait: Literal["adaptive", "fixed"] = Field(
        "adaptive",
        description="adaptive: a free worker waits (up to max_wait_ms) only while requests are preparing sketches "
                    "that will join the batch, else it computes what is queued at once; fixed: it always waits "
                    "until the oldest sketch has waited max_wait_ms or the batch is full (Triton's rule)")
    inline_when_idle: bool = Field(
        True, description="a one-sketch request that finds the batcher idle (nothing queued or being prepared, "
                          "every engine worker waiting) is computed at once on the event loop, without two "
                          "thread hand-offs (lower latency when lightly loaded; the same numbers)")
    max_queue: int = Field(1024, ge=1, description="most sketches waiting; beyond it requests get 503")
    shed_queue_fraction: float = Field(
        0.9, gt=0.0, le=1.0,
        description="while at least this fraction of max_queue is waiting, /score, /attribute and /enhance get 503 "
                    "before their body is read (shedding that saves the work)")
    length_buckets: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="padded lengths a batch may have, e.g. '32,64,96,128' (empty: multiples of 32 up to the "
                    "card's max_points); a batch only holds sketches of one bucket")
    request_timeout_s: float = Field(30.0, gt=0.0, description="most time a request may wait for the model (503)")
    retry_after_s: int = Field(1, ge=0, description="Retry-After seconds sent with 503 answers")

    # --- request limits ---
    max_request_line_bytes: int = Field(
        8 * 1024, ge=256, description="longest request target (path and query) accepted, counted as it arrives (414)")
    max_header_bytes: int = Field(
        32 * 1024, ge=1024, description="largest header block accepted, counted as it arrives (431)")
    head_refusals_to_block: int = Field(
        20, ge=0, description="refused request heads (400/414/431) from one address within head_refusal_window_s "
                              "that block it for head_block_s: its connections get 429 unread (0: never block; "
                              "trusted proxies, forwarded_allow_ips, are never blocked)")
    head_refusal_window_s: float = Field(10.0, gt=0.0, description="window in which refused heads are counted")
    head_block_s: float = Field(10.0, gt=0.0, description="how long an address with too many refused heads is blocked")
    head_held_per_address: int = Field(
        8, ge=0, description="connections of a blocked address held open unread until the block ends (a tarpit); "
                             "more are closed at once")
    head_held_max: int = Field(256, ge=0, description="blocked connections held open in all")
    head_guard_addresses: int = Field(
        10_000, ge=1, description="client addresses whose refused heads are remembered (the oldest are forgotten)")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="request body limit, counted while reading (413)")
    max_sketches: int = Field(256, ge=1, description="sketches per request")
    max_strokes: int = Field(512, ge=1, description="strokes per sketch")
    max_input_points: int = Field(
        2_000, ge=1, description="points per sketch as sent; simplifying a long noisy sketch costs CPU that grows "
                                 "faster than its length, so keep this modest")
    max_request_points: int = Field(50_000, ge=1, description="points in all sketches of one request, as sent")
    max_abs_coordinate: float = Field(1e9, gt=0.0, description="largest |x|, |y|, |dx| or |dy| accepted")

    # --- attribution (POST /attribute) ---
    attribute_max_strokes: int = Field(
        64, ge=1,
        description="strokes a sketch may have for /attribute (each search step scores one variant per stroke)")
    attribute_max_removals: int = Field(10, ge=0, description="most strokes one /attribute request may remove")

    # --- enhancement (POST /enhance) ---
    enhance_model_dir: Path = Field(
        Path("models/sketchrnn"),
        description="folder with the Sketch-RNN VAE export (encoder.onnx, decoder.onnx, sketchrnn_card.json; "
                    "`sketchq-train sketchrnn-export`); when absent the service runs and /enhance answers 503")
    enhance_default_steps: int = Field(10, ge=0, description="search steps of an /enhance request that sets none")
    enhance_max_steps: int = Field(50, ge=0, description="most search steps one /enhance request may ask for")
    enhance_population: int = Field(
        16, ge=1, description="latents decoded and scored per search step when the request sets none")
    enhance_max_population: int = Field(64, ge=1, description="largest population one /enhance request may ask for")
    enhance_alpha: float = Field(
        0.05, ge=0.0, allow_inf_nan=False, description="default weight of the identity term alpha*||z - z0||^2")
    enhance_max_alpha: float = Field(1000.0, ge=0.0, allow_inf_nan=False, description="largest alpha accepted")
    enhance_sigma: float = Field(
        0.15, gt=0.0, allow_inf_nan=False,
        description="initial step size of the evolution strategy over z (chosen on validation sketches: "
                    "docs/results/enhance.md)")
    enhance_max_seed: int = Field(2**32 - 1, ge=0, description="largest seed accepted (seeds are 0..this)")

    # --- cache ---
    cache: Literal["auto", "memory", "redis", "off"] = Field(
        "auto", description="auto: Redis when a Redis URL is set, else an in-process LRU")
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("SKETCHQ_REDIS_URL", "REDIS_URL"),
        description="redis://host:port/db (also read from REDIS_URL)")
    cache_ttl_s: int = Field(7 * 24 * 3600, ge=1, description="time to live of every cache entry")
    cache_max_entries: int = Field(100_000, ge=1, description="size of the in-process LRU cache")
    cache_timeout_ms: float = Field(50.0, gt=0.0, description="Redis connect and socket timeout")
    cache_retry_s: float = Field(1.0, ge=0.0, description="after a Redis error, skip Redis for this long")

    # --- who may ask for work, and how much (POST /score, /attribute, /enhance) ---
    api_key_hashes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="API keys accepted, as sha256 hex digests, comma-separated (`python -m service.security.keys` "
                    "makes a key and its digest); keys are sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`; "
                    "empty: no key needed")
    rate_limit: bool = Field(
        False, description="limit each client (its API key, else its address) to a budget of cost: a /score costs its "
                           "sketches, an /attribute and an /enhance the sketch evaluations they will run (429)")
    rate_limit_per_s: float = Field(200.0, gt=0.0, description="cost a client's budget regains per second")
    rate_limit_burst: float = Field(2000.0, gt=0.0, description="most cost a client's budget holds")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies whose X-Forwarded-For names the client (comma-separated, `*` for any: "
                                 "behind a load balancer, so that limits apply per client, not per proxy)")
    cache_scope: Literal["shared", "client"] = Field(
        "shared", description="shared: one cache for every client (whether an answer was `cached` tells a client "
                              "that someone sent that sketch before); client: each API key (or address) its own")

    # --- what the service shows ---
    expose_internals: bool = Field(
        False, description="GET /v1/model also shows the attribution rule's weights and per-class thresholds and the "
                           "training checkpoint (for operators; off on the open internet: it lets inputs be tuned "
                           "against the rule)")
    api_docs: bool = Field(
        False, description="serve Swagger UI at /docs and ReDoc at /redoc (they load their scripts from "
                           "cdn.jsdelivr.net); /openapi.json is always served")

    # --- server ---
    host: str = Field("127.0.0.1", description="address `python -m service` binds")
    port: int = Field(8000, ge=0, le=65535, description="port `python -m service` binds")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info", description="log level")
    otel_traces: bool = Field(
        False, description="OpenTelemetry traces (the `otel` extra): a span per request, for reading it, for its "
                           "sketches' queueing and computing, and per model call; exporter from OTEL_TRACES_EXPORTER "
                           "(otlp, console) and OTEL_EXPORTER_OTLP_ENDPOINT")
    log_format: Literal["json", "text"] = Field(
        "json", description="json: one object per line (with request_id; one `request` line per request with its "
                            "method, endpoint, status and latency_ms, never the body); text: for people")
    shutdown_grace_s: float = Field(
        5.0, ge=0.0, description="on SIGTERM, answer /readyz 503 for this long before draining and stopping")

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, v: object) -> object:
        if isinstance(v, str):
            return [x.strip().lower() for x in v.split(",") if x.strip()]
        return v

    @field_validator("api_key_hashes")
    @classmethod
    def _hex_digests(cls, v: list[str]) -> list[str]:
        for d in v:
            if len(d) != 64 or any(c not in "0123456789abcdef" for c in d):
                raise ValueError("api_key_hashes must be sha256 hex digests (64 hex digits each), not the keys")
        return v

    @field_validator("length_buckets", mode="before")
    @classmethod
    def _split_buckets(cls, v: object) -> object:
        if isinstance(v, str):
            return [int(x) for x in v.replace(" ", "").split(",") if x]
        return v

    @field_validator("length_buckets")
    @classmethod
    def _sorted_buckets(cls, v: list[int]) -> list[int]:
        if any(b < 1 for b in v):
            raise ValueError("length buckets must be positive")
        return sorted(set(v))

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.cache == "redis" and not self.redis_url:
            raise ValueError("cache=redis needs SKETCHQ_REDIS_URL or REDIS_URL")
        if self.max_queue < self.max_sketches:
            raise ValueError(f"max_queue ({self.max_queue}) must be at least max_sketches ({self.max_sketches}), "
                             "or a full-size request could never be queued")
        if self.enhance_default_steps > self.enhance_max_steps:
            raise ValueError("enhance_default_steps must not exceed enhance_max_steps")
        if self.enhance_population > self.enhance_max_population:
            raise ValueError("enhance_population must not exceed enhance_max_population")
        return self

    @property
    def cache_backend(self) -> Literal["memory", "redis", "off"]:
        if self.cache == "auto":
            return "redis" if self.redis_url else "memory"
        return self.cache

    def buckets_for(self, max_points: int) -> list[int]:
        """The padded lengths actually used: the configured ones up to max_points, and max_points itself."""
        chosen = [b for b in self.length_buckets if b < max_points] if self.length_buckets else list(
            range(32, max_points, 32))
        return [*chosen, max_points]


def env_names() -> dict[str, list[str]]:
    """Each Settings field -> the environment variable names it is read from (as pydantic-settings does)."""
    prefix = Settings.model_config.get("env_prefix", "")
    out: dict[str, list[str]] = {}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            out[name] = [c for c in alias.choices if isinstance(c, str)]
        elif isinstance(alias, str):
            out[name] = [alias]
        else:
            out[name] = [f"{prefix}{name}".upper()]
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list) and not value:
        return "empty"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return f"`{text}`"


def settings_table() -> str:
    """The README's table of environment variables: one row per Settings field."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    names = env_names()
    for name, info in Settings.model_fields.items():
        default = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
        variables = " / ".join(f"`{v}`" for v in names[name])
        meaning = (info.description or "").replace("|", "\\|")
        if get_origin(info.annotation) is Literal:
            meaning += " (one of " + ", ".join(f"`{c}`" for c in get_args(info.annotation)) + ")"
        rows.append(f"| {variables} | {_shown(default)} | {meaning} |")
    return "\n".join(rows) + "\n"
