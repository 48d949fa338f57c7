"""Measuring a model: accuracy, AUROC and corruptions of a checkpoint, agreement with judged pairs, paired
accuracy over seeds, and the statistics behind them."""
