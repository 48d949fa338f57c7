"""Offline training package (needs torch): from sketch files to an exported, calibrated scorer.

    data/        the hash split and converted sets, length-bucketed batches, augmentation, corruptions,
                 the attribution set, the differentiable twin of the preprocessing
    model/       encoders (sequence, raster), their presets, encoder + cosine classifier
    losses/      normalised softmax and GACL (soft binning), the degradation ranking loss
    engine/      the TrainConfig, the loop, schedules, warm starts, prediction, checkpoints and metrics.jsonl
    evaluation/  a checkpoint's accuracy, AUROC and corruptions; agreement with judged pairs; seeds compared
    export/      model.onnx and its typed card (sketchprep.card); the attribution calibration
    reports/     tables and figures over runs
    sketchrnn/   the Sketch-RNN VAE of /enhance, on the same data and engine helpers
    cli.py       `sketchq-train`: every command, its options built from the dataclasses above
"""
