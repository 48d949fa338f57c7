"""From a checkpoint to what the service loads: model.onnx and its typed model card (sketchprep.card), the
attribution calibration that completes the card, and the exported model run in process."""
