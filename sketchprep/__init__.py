"""What training and the service share, written once: sketch formats and preprocessing, the train/val/test
split, the stroke-removal search, stroke-5 sequences, and the typed, versioned model card.

numpy and pydantic only (no torch, no ONNX Runtime), so the service imports it without the training stack.
"""

from sketchprep.preprocess import PreprocessConfig, collate, sketch_to_points
from sketchprep.strokes import Sketch, stroke3_to_strokes, strokes_from_drawing

__all__ = [
    "PreprocessConfig",
    "Sketch",
    "collate",
    "sketch_to_points",
    "stroke3_to_strokes",
    "strokes_from_drawing",
]
