"""`sketchq-train`: one command group for training, evaluation and export."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

from training import agreement_eval
from training.gacl import GACL_KINDS


def _add_train(sub: argparse._SubParsersAction) -> None:
    from training.model import ENCODER_PRESETS
    from training.train import TrainConfig

    p = sub.add_parser("train", help="train a softmax baseline or a GACL model")
    d = TrainConfig()
    p.add_argument("--data", nargs="+", default=d.data, help="sketch files or folders (.ndjson[.gz], .npz, .bin)")
    p.add_argument("--categories", nargs="+", default=None, help="default: every category found")
    p.add_argument("--out", dest="out_dir", required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--preset", default=d.preset, choices=tuple(ENCODER_PRESETS), help="encoder preset")
    p.add_argument("--head", choices=("gacl", "softmax"), default=d.head)
    p.add_argument("--gacl-kind", choices=GACL_KINDS, default="cos")
    for name in ("s", "l_a", "u_a", "l_m", "u_m", "lambda_g"):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, dest=f"g_{name}")
    for f in fields(TrainConfig):
        if f.name in {"data", "categories", "out_dir", "preset", "head", "gacl", "s"}:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool" or isinstance(f.default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.name in {"init_from", "device", "optimizer", "schedule"} or isinstance(f.default, str):
            p.add_argument(flag, default=f.default)
        elif isinstance(f.default, float):
            p.add_argument(flag, type=float, default=f.default)
        else:
            p.add_argument(flag, type=int, default=f.default)
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from training.monitor import CollapseError
    from training.train import TrainConfig, train

    gacl = {"kind": args.gacl_kind}
    for name in ("s", "l_a", "u_a", "l_m", "u_m", "lambda_g"):
        v = getattr(args, f"g_{name}")
        if v is not None:
            gacl[name] = v
    kw = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    kw["gacl"] = gacl
    if "s" in gacl:
        kw["s"] = gacl["s"]
    cfg = TrainConfig(**kw)
    try:
        summary = train(cfg)
    except CollapseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print(json.dumps(summary))
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="accuracy, q distribution, AUROC, corruption test, q-vs-theta plot")
    p.add_argument("checkpoint")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"])
    p.add_argument("--out", required=True, help="folder for evaluation.json, evaluation.md and plots")
    p.add_argument("--split", default="test")
    p.add_argument("--auroc-categories", nargs="+", default=["eye", "mouth", "monkey"])
    p.add_argument("--corruption-sample", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pairs", default=agreement_eval.DEFAULT_PAIRS,
                   help="judged-pairs JSONL for the agreement with people ('' or a missing file: skipped)")
    p.add_argument("--baseline", default=None, help="softmax baseline (checkpoint or folder) for the agreement table")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from training.evaluate import evaluate_checkpoint

    pairs = args.pairs if args.pairs and Path(args.pairs).is_file() else None
    if args.pairs and pairs is None:
        print(f"note: no judged pairs at {args.pairs}: agreement skipped", file=sys.stderr)
    result = evaluate_checkpoint(args.checkpoint, args.data, args.out, args.split, args.auroc_categories,
                                 args.corruption_sample, args.seed, pairs, args.baseline)
    print(json.dumps(result["summary"], indent=2))
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX with a model card")
    p.add_argument("checkpoint")
    p.add_argument("--data", nargs="+", default=["../shared/data/quickdraw"], help="for validation percentiles")
    p.add_argument("--out", required=True, help="output folder, e.g. models/gacl-cos")
    p.add_argument("--name", required=True)
    p.add_argument("--version", default="1")
    p.add_argument("--evaluation", default=None, help="evaluation.json to copy measured metrics from")
    p.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from training.export import export_checkpoint

    card = export_checkpoint(args.checkpoint, args.data, args.out, args.name, args.version, args.evaluation)
    print(json.dumps({"onnx": card["onnx"]["file"], "sha256": card["onnx"]["sha256"]}))
    return 0


def _add_sketchrnn_train(sub: argparse._SubParsersAction) -> None:
    from training.sketchrnn.model import PRESETS
    from training.sketchrnn.train import TrainConfig as SketchRNNTrainConfig

    p = sub.add_parser("sketchrnn-train", help="train the class-conditional Sketch-RNN VAE (paper Sec. 3.6)")
    d = SketchRNNTrainConfig()
    p.add_argument("--data", nargs="+", default=d.data, help="sketch files or folders (.ndjson[.gz], .npz, .bin)")
    p.add_argument("--categories", nargs="+", default=None, help="default: every category found")
    p.add_argument("--out", dest="out_dir", required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--preset", choices=tuple(PRESETS), default=d.preset)
    p.add_argument("--pad-to", choices=("max_seq_len", "batch"), default=d.pad_to,
                   help="pad batches to max_seq_len + 1 (Sketch-RNN) or to their longest sketch + 1 (faster)")
    for f in fields(SketchRNNTrainConfig):
        if f.name in {"data", "categories", "out_dir", "preset", "pad_to"}:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.type.startswith("float"):
            p.add_argument(flag, type=float, default=f.default)
        elif f.type.startswith("int"):
            p.add_argument(flag, type=int, default=f.default)
        else:
            p.add_argument(flag, default=f.default)
    p.set_defaults(func=_run_sketchrnn_train)


def _run_sketchrnn_train(args: argparse.Namespace) -> int:
    from training.sketchrnn.train import TrainConfig as SketchRNNTrainConfig
    from training.sketchrnn.train import train as train_sketchrnn

    cfg = SketchRNNTrainConfig(**{f.name: getattr(args, f.name) for f in fields(SketchRNNTrainConfig)})
    print(json.dumps(train_sketchrnn(cfg)))
    return 0


def _add_sketchrnn_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sketchrnn-sample", help="PNG grid of Sketch-RNN samples from the prior, one row per class")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="PNG file")
    p.add_argument("--per-class", type=int, default=6)
    p.add_argument("--temperature", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--curves", default=None, help="also plot the run's loss curves (its metrics.jsonl) to this PNG")
    p.set_defaults(func=_run_sketchrnn_sample)


def _run_sketchrnn_sample(args: argparse.Namespace) -> int:
    from pathlib import Path

    from training.sketchrnn.model import load_model
    from training.sketchrnn.sample import sample_grid

    model, ck = load_model(args.checkpoint)
    sample_grid(model, ck["classes"], Path(args.out), args.per_class, args.temperature, args.seed)
    if args.curves:
        from training.sketchrnn.plots import plot_loss_curves

        plot_loss_curves(Path(args.checkpoint).parent / "metrics.jsonl", Path(args.curves))
    print(json.dumps({"png": args.out, "curves": args.curves, "step": ck["step"]}))
    return 0


def _add_sketchrnn_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sketchrnn-export", help="export the Sketch-RNN encoder and decoder to ONNX with a card")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output folder, e.g. models/sketchrnn")
    p.add_argument("--steps", type=int, default=None, help="decoder rows (default: the model's max_seq_len)")
    p.set_defaults(func=_run_sketchrnn_export)


def _run_sketchrnn_export(args: argparse.Namespace) -> int:
    from training.sketchrnn.export import export_checkpoint as export_sketchrnn

    card = export_sketchrnn(args.checkpoint, args.out, args.steps)
    print(json.dumps({"encoder": card["encoder"]["sha256"], "decoder": card["decoder"]["sha256"],
                      "decode_steps": card["decode_steps"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sketchq-train", description=__doc__)
    sub = parser.add_subparsers(required=True)
    _add_train(sub)
    _add_evaluate(sub)
    _add_export(sub)
    agreement_eval.add_parser(sub)
    _add_sketchrnn_train(sub)
    _add_sketchrnn_sample(sub)
    _add_sketchrnn_export(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
