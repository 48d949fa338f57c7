#!/usr/bin/env bash
# Encoder-design study (issue 2: "measure and choose, and report the accuracy-versus-CPU-time curve"):
# the softmax stage of the shipped recipe, 3 epochs with one cosine, for the compact CNN and the pilot's
# small BiLSTM, each with and without the offset features (dx, dy) next to the absolute positions.
# Run it on an otherwise idle machine: the curve's x axis is the training process's CPU time.
#   scripts/encoder_study.sh      -> runs/enc-<preset>, docs/results/encoders/ (~40 min on 2 cores; resumable)
set -euo pipefail
DATA=${DATA:-../shared/data/quickdraw}
RUNS=${RUNS:-runs}
EPOCHS=${EPOCHS:-3}
CATS="mouth eye dog horse cat face radio pig alarm_clock bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle"
PRESETS=${PRESETS:-"conv-compact conv-compact-abs bilstm-small bilstm-small-offsets"}
runs=()
for preset in $PRESETS; do
  out="$RUNS/enc-$preset"
  runs+=("$out")
  resume=$([ -f "$out/last.pt" ] && echo --resume || true)
  sketchq-train train --out "$out" --preset "$preset" --head softmax --epochs "$EPOCHS" --lr 3e-3 \
    --warmup-steps 200 --data "$DATA" --categories $CATS --batch-size 128 --optimizer adamw \
    --weight-decay 1e-4 --schedule cosine --seed 0 $resume
done
python -m training.cost_curve --runs "${runs[@]}" --out docs/results/encoders
