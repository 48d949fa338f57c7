#!/usr/bin/env bash
# Longer budget for both (models/README.md, "Longer budget"): softmax 16 epochs vs GACL-Cos with
# degradation ranking for 10 epochs from softmax epoch 6 (6 + 10 = 16), otherwise the shipped recipe;
# then both evaluated on the test split. About 50 min on 2 cores; every stage resumes if re-run.
#   scripts/train_long.sh            -> runs/softmax-e16, runs/gacl-cos-rankdrop4-e16 (seed 0)
#   SEED=1 scripts/train_long.sh     -> runs/softmax-e16-s1, runs/gacl-cos-rankdrop4-e16-s1
set -euo pipefail
DATA=${DATA:-../shared/data/quickdraw}
RUNS=${RUNS:-runs}
SEED=${SEED:-0}
suffix=$([ "$SEED" = 0 ] && echo "" || echo "-s$SEED")
CATS="mouth eye dog horse cat face radio pig alarm_clock bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle"
common=(--data "$DATA" --categories $CATS --batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed "$SEED")
resume() { [ -f "$1/last.pt" ] && echo --resume || true; }
sm="$RUNS/softmax-e16$suffix"
gc="$RUNS/gacl-cos-rankdrop4-e16$suffix"
sketchq-train train --out "$sm" --head softmax --epochs 16 --lr 3e-3 --warmup-steps 200 "${common[@]}" $(resume "$sm")
sketchq-train train --out "$gc" --head gacl --gacl-kind cos --lr 1e-3 --warmup-steps 50 --q-init-median 60 \
  --ramp-steps 128 --epochs 10 --init-from "$sm/epoch_005.pt" --soft-bins-hold 2 --soft-bins-ramp 4 \
  --rank-weight 4 --rank-count 64 --rank-margin 0.15 --rank-kinds jitter,drop,drop "${common[@]}" $(resume "$gc")
for r in "$sm" "$gc"; do
  [ -f "$r/eval/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --out "$r/eval" --corruption-sample 1000
done
