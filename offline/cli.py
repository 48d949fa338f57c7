"""`sketchq`: the offline commands (`sketchq score`, `sketchq clean`; `sketchq COMMAND --help`).

Exit status: 0 done, 1 a malformed record (without --skip-bad) or another error in the data or the model,
2 bad usage. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline.commands import clean, score
from offline.rows import format_of
from offline.run import RunOptions
from offline.scoring import EngineOptions
from service.core.errors import ServiceError

EXAMPLES = """examples:
  sketchq score data/quickdraw --out scores.parquet --workers 2
  sketchq score 'data/*.ndjson.gz' more.npz --out scores.ndjson --skip-bad
  sketchq clean data/quickdraw --out cleaned/           # kept/suspect/rejected.parquet + report.html
  sketchq score data/ --out scores.parquet --ray auto   # on a Ray cluster (pip install -e '.[ray]')"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="folders, globs, .ndjson[.gz], .npz, .bin or .parquet files")
    p.add_argument("--model", type=Path, default=EngineOptions.model_dir, help="exported model folder (%(default)s)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes scoring files, this one included; one ONNX Runtime session each (%(default)s)")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed records and count them (default: stop)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="execution provider (%(default)s)")
    p.add_argument("--batch-size", type=int, default=EngineOptions.batch_size, help="sketches per model call")
    p.add_argument("--overwrite", action="store_true", help="replace the output of a finished run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sketchq", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="one row per drawing: q, percentile, class, confidence, theta, label check")
    _common(s)
    s.add_argument("--out", type=str, required=True, help="PATH.parquet or PATH.ndjson (with --ray also s3://...)")
    s.add_argument("--ray", metavar="ADDRESS", help="run as a Ray Data job on this cluster ('auto', 'local', ray://...)")
    s.add_argument("--ray-actors", type=int, default=2, help="actor pool size of the Ray job (%(default)s)")
    s.add_argument("--ray-actor-cpus", type=float, default=1.0,
                   help="CPUs each actor reserves; keep actors x this below the cluster's CPUs (%(default)s)")
    c = sub.add_parser("clean", help="kept / suspect / rejected outputs and report.html (paper Sec. 6)")
    _common(c)
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--format", choices=("parquet", "ndjson"), default="parquet", help="row format (%(default)s)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        target = args.out if args.command == "score" and args.ray and "://" in args.out else Path(args.out)
        fmt = format_of(Path(args.out)) if args.command == "score" else args.format
        if args.workers < 1 or args.batch_size < 1:
            raise ValueError("--workers and --batch-size must be at least 1")
        engine = EngineOptions(model_dir=args.model, device=args.device, batch_size=args.batch_size)
        opts = RunOptions(tuple(args.inputs), fmt, engine, args.workers, args.skip_bad, progress=not args.no_progress)
        if args.command == "score" and args.ray:
            from offline.ray_job import run_ray  # Ray only when asked for (the `ray` extra)

            result = run_ray(opts, target, args.ray, args.ray_actors, args.overwrite,
                             actor_cpus=args.ray_actor_cpus)
            print(result.message("scored"), file=sys.stderr)
            return 0
        if args.command == "score":
            result = score(opts, Path(target), args.overwrite)
        else:
            Path(target).mkdir(parents=True, exist_ok=True)
            result = clean(opts, Path(target), args.overwrite)
    except KeyboardInterrupt:
        print("sketchq: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError, ServiceError) as e:  # BadRecordError, InputError, ModelLoadError
        print(f"sketchq: error: {e}", file=sys.stderr)
        return 1
    print(result.message("scored" if args.command == "score" else "cleaned"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
