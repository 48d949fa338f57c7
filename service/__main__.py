"""`python -m service`: run the service with uvicorn, settings from the environment.

With workers = 1 (the default) this process is the server (service.server); with SKETCHQ_WORKERS > 1 it is
the supervisor of that many server processes sharing the port (service.supervisor).
"""

from __future__ import annotations

from service.core.settings import Settings
from service.server import serve
from service.supervisor import Supervisor


def main() -> None:
    settings = Settings()
    try:
        if settings.workers > 1:
            raise SystemExit(Supervisor(settings).run())
        serve(settings)
    except KeyboardInterrupt:  # Ctrl+C before the server was up (while loading the model): no traceback
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
