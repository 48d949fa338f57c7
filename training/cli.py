"""`sketchq-train`: one command group, its options built by tyro from each command's config dataclass.

Each command's dataclass and its `run_cli` live beside the code they drive; the field docstrings are the
help texts and the field defaults the defaults (`sketchq-train COMMAND --help`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Union

import tyro

from training.engine import loop
from training.engine.config import TrainConfig
from training.evaluation import agreement_eval, evaluate, paired_accuracy
from training.export import calibrate_attribution, calibrate_labels, model
from training.reports import agreement_overview, agreement_study, cost_curve, results
from training.sketchrnn import export as sketchrnn_export
from training.sketchrnn import sample as sketchrnn_sample
from training.sketchrnn import train as sketchrnn_train

# name -> (options, what it does, how it runs, the defaults where the dataclass's differ: tyro.MISSING = required)
COMMANDS: dict[str, tuple[type, str, Callable[[Any], int], Any]] = {
    "train": (TrainConfig, "train a softmax baseline or a GACL model", loop.run_cli,
              TrainConfig(out_dir=tyro.MISSING)),
    "evaluate": (evaluate.EvaluateArgs, "accuracy, q distribution, AUROC, corruption test, q-vs-theta plot",
                 evaluate.run_cli, None),
    "export": (model.ExportArgs, "export a checkpoint to ONNX with a model card", model.run_cli, None),
    "calibrate": (calibrate_attribution.CalibrateArgs,
                  "calibrate the attribution rule of an exported model into its card", calibrate_attribution.run_cli,
                  None),
    "calibrate-labels": (calibrate_labels.CalibrateLabelsArgs,
                         "calibrate the label-cleansing rule of an exported model into its card (version 2)",
                         calibrate_labels.run_cli, None),
    "agreement": (agreement_eval.AgreementArgs, "agreement of q (and baselines) with judged pairs of sketches",
                  agreement_eval.run_cli, None),
    "compare-seeds": (paired_accuracy.CompareSeedsArgs, "paired test accuracy of softmax and GACL runs over seeds",
                      paired_accuracy.run_cli, None),
    "report": (results.ReportArgs, "results tables and figures of evaluated runs", results.run_cli, None),
    "cost-curve": (cost_curve.CostCurveArgs, "accuracy against training cost (the encoder-design study)",
                   cost_curve.run_cli, None),
    "agreement-study": (agreement_study.AgreementStudyArgs,
                        "the issue-12 study table: agreement, accuracy, AUROC, corruptions, CPU time",
                        agreement_study.run_cli, None),
    "agreement-overview": (agreement_overview.AgreementOverviewArgs,
                           "every study run's agreement in one table and figure, from the committed study tables",
                           agreement_overview.run_cli, None),
    "sketchrnn-train": (sketchrnn_train.TrainConfig, "train the class-conditional Sketch-RNN VAE (paper Sec. 3.6)",
                        sketchrnn_train.run_cli, sketchrnn_train.TrainConfig(out_dir=tyro.MISSING)),
    "sketchrnn-sample": (sketchrnn_sample.SampleArgs, "PNG grid of Sketch-RNN samples from the prior, a row a class",
                         sketchrnn_sample.run_cli, None),
    "sketchrnn-export": (sketchrnn_export.SketchRNNExportArgs,
                         "export the Sketch-RNN encoder and decoder to ONNX with a card", sketchrnn_export.run_cli,
                         None),
}


def _subcommands() -> Any:
    choices = []
    for name, (options, description, _, default) in COMMANDS.items():
        marker = tyro.conf.subcommand(name, description=description,
                                      **({} if default is None else {"default": default}))
        choices.append(Annotated[options, marker])
    return Union[tuple(choices)]  # noqa: UP007  (a runtime union of Annotated types)


def parse(argv: list[str] | None = None) -> Any:
    """The command line -> the chosen command's options (an instance of its dataclass)."""
    return tyro.cli(_subcommands(), args=argv, prog="sketchq-train", description=__doc__.splitlines()[0],
                    config=(tyro.conf.OmitSubcommandPrefixes,))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    run = next(run for options, _, run, _ in COMMANDS.values() if type(args) is options)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
