"""Running a training: the config, the loop, schedules, warm starts, prediction, checkpoints and the jsonl
log, and the collapse check. Shared by the scorer's loop and the Sketch-RNN's."""
