#!/usr/bin/env bash
# Encoder-design study (issue 2: "measure and choose, and report the accuracy-versus-CPU-time curve"):
# the softmax stage of the shipped recipe, 3 epochs with one cosine, for the compact CNN and the pilot's
# small BiLSTM, each with and without the offset features (dx, dy) next to the absolute positions.
# Run it on an otherwise idle machine: the curve's x axis is the training process's CPU time.
#   scripts/encoder_study.sh      -> runs/enc-<preset>, docs/results/encoders/ (~40 min on 2 cores; resumable)
set -euo pipefail
EPOCHS=${EPOCHS:-3}
SEED=0
source "$(dirname "$0")/recipe.sh"
PRESETS=${PRESETS:-"conv-compact conv-compact-abs bilstm-small bilstm-small-offsets"}
runs=()
for preset in $PRESETS; do
  out="$RUNS/enc-$preset"
  runs+=("$out")
  sketchq-train train --out "$out" --preset "$preset" "${softmax_stage[@]}" --epochs "$EPOCHS" "${common[@]}" \
    $(resume "$out")
done
sketchq-train cost-curve --runs "${runs[@]}" --out docs/results/encoders
