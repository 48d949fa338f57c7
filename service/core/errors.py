"""The service's own exceptions, one hierarchy (like httpx's), each knowing its HTTP problem.

    ServiceError                      base of everything below; never raised itself
    ├── ClientError                   the request is wrong (4xx); retrying it unchanged will not help
    │   ├── InvalidInputError         422: the body parsed but breaks a rule (carries `errors`, like validation)
    │   │   ├── LimitExceededError    422: a configured limit (sketches, strokes, points, coordinates)
    │   │   └── UnknownLabelError     422: `label` is not a class of the model (lists the known classes)
    │   ├── PayloadTooLargeError      413: the body is longer than max_body_bytes
    │   ├── UnsupportedMediaTypeError 415: the body is not declared as UTF-8 application/json
    │   ├── UnauthorizedError         401: API keys are on and none, or an unknown one, was sent
    │   ├── RateLimitedError          429 + Retry-After: the client's cost budget is spent for now
    │   └── ClientDisconnectedError   499: the client went away before the answer (never delivered)
    ├── UnavailableError              503 + Retry-After: try again later
    │   ├── QueueFullError            the batcher's queue is at max_queue
    │   ├── QueueTimeoutError         the request waited longer than request_timeout_s
    │   ├── ShuttingDownError         the service is draining
    │   └── FeatureUnavailableError   an optional model (the /enhance VAE) is not installed
    ├── ModelError                    500: the model itself is at fault
    │   ├── ModelLoadError            bad model folder, card, checksum or execution provider (start-up only)
    │   └── InferenceError            ONNX Runtime failed or produced a non-finite output
    └── CacheError                    the cache backend failed; never reaches a client (served as a miss)

Every exception that reaches the HTTP layer becomes an RFC 9457 `application/problem+json` answer built
by `problem()`; `service.core.problems` answers it, on the FastAPI path and on the /score fast path alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem document (extension members go after the standard ones)."""
    return {"type": type_, "title": title, "status": status, "detail": detail, **extra}


class ServiceError(Exception):
    """Base class of the service's errors; subclasses set the HTTP status, problem type and title."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def type_uri(self) -> str:
        return f"urn:sketchq:problem:{self.slug}"

    def headers(self) -> dict[str, str]:
        return {}

    def extra(self) -> dict[str, Any]:
        """Extension members of the problem document."""
        return {}

    def to_problem(self) -> dict[str, Any]:
        return problem(self.status, self.title, self.detail, self.type_uri, **self.extra())


class ClientError(ServiceError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidInputError(ClientError):
    """422 with a list of `errors`, each {loc, msg, type}, in the same shape as request validation errors."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> InvalidInputError:
        where = ".".join(str(p) for p in loc)
        return cls(f"{where}: {msg}", [{"loc": list(loc), "msg": msg, "type": type_}])

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors} if self.errors else {}


class LimitExceededError(InvalidInputError):
    slug = "limit-exceeded"
    title = "Limit exceeded"


class UnknownLabelError(InvalidInputError):
    slug = "unknown-label"
    title = "Unknown label"

    def __init__(self, label: str, loc: Sequence[str | int], known: Sequence[str]) -> None:
        msg = f"unknown label {label!r}; known classes: {', '.join(known)}"
        super().__init__(msg, [{"loc": list(loc), "msg": msg, "type": "unknown_label"}])
        self.known_classes = list(known)

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "known_classes": self.known_classes}


class PayloadTooLargeError(ClientError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaTypeError(ClientError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class UnauthorizedError(ClientError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="sketchq"'}


class RateLimitedError(ClientError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after_s))}


class ClientDisconnectedError(ClientError):
    status = 499
    slug = "client-disconnected"
    title = "Client closed request"


class UnavailableError(ServiceError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class QueueFullError(UnavailableError):
    slug = "queue-full"
    title = "Queue full"


class QueueTimeoutError(UnavailableError):
    slug = "queue-timeout"
    title = "Timed out waiting for the model"


class ShuttingDownError(UnavailableError):
    slug = "shutting-down"
    title = "Shutting down"


class FeatureUnavailableError(UnavailableError):
    slug = "feature-unavailable"
    title = "Feature unavailable"


class ModelError(ServiceError):
    status = 500
    slug = "model-error"
    title = "Model error"


class ModelLoadError(ModelError):
    slug = "model-load-error"
    title = "Model could not be loaded"


class InferenceError(ModelError):
    slug = "inference-error"
    title = "Inference failed"


class CacheError(ServiceError):
    slug = "cache-error"
    title = "Cache error"
