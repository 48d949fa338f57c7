"""Sketch input, preprocessing and the stroke-removal search: the single implementation shared by
training and the service.

numpy only (no torch), so the service can import it without the training stack.
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
