"""Objectives: normalised softmax and GACL (with soft binning), and the degradation ranking loss."""
