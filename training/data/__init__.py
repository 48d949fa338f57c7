"""Training data: the hash split, preprocessed sets, length-bucketed batches, augmentation, corruptions, the
attribution set and the differentiable twin of the preprocessing."""
