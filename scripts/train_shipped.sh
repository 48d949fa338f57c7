#!/usr/bin/env bash
# Reproduces the shipped models (models/README.md) on a 2-core CPU: ~35 min of training + evaluation.
# Stage 1: normalised-softmax baseline, 11 epochs (the baseline shipped as models/softmax).
# Stage 2: GACL-Cos fine-tuned for 3 epochs from stage 1's epoch-8 checkpoint (8 + 3 = the same 11-epoch
#          budget), with and without soft binning. Every stage resumes if re-run after an interruption.
set -euo pipefail
DATA=${DATA:-../shared/data/quickdraw}
RUNS=${RUNS:-runs}
CATS="mouth eye dog horse cat face radio pig alarm_clock bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle"
common=(--data "$DATA" --categories $CATS --batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed 0)
resume() { [ -f "$1/last.pt" ] && echo --resume || true; }

sketchq-train train --out "$RUNS/softmax" --head softmax --epochs 11 --lr 3e-3 --warmup-steps 200 \
  "${common[@]}" $(resume "$RUNS/softmax")

for variant in gacl-cos gacl-cos-nobin; do
  extra=(--soft-bins-hold 1 --soft-bins-ramp 1)   # 5 cut points in epoch 0, 20 in epoch 1, then continuous q
  [ "$variant" = gacl-cos-nobin ] && extra=(--no-soft-binning)
  sketchq-train train --out "$RUNS/$variant" --head gacl --gacl-kind cos --epochs 3 --lr 1e-3 --warmup-steps 50 \
    --init-from "$RUNS/softmax/epoch_007.pt" --q-init-median 60 --ramp-steps 128 "${extra[@]}" \
    "${common[@]}" $(resume "$RUNS/$variant")
done

for run in softmax gacl-cos gacl-cos-nobin; do
  [ -f "$RUNS/$run/eval/evaluation.json" ] || \
    sketchq-train evaluate "$RUNS/$run/last.pt" --data "$DATA" --out "$RUNS/$run/eval" --corruption-sample 1000
done
