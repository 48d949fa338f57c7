#!/usr/bin/env bash
# Seed check for models/README.md: the shipped recipe (softmax 11 epochs; GACL-Cos with degradation ranking,
# 5 epochs from softmax epoch 6) with another seed, then both evaluated on the test split.
#   SEED=1 scripts/train_seed.sh      -> runs/softmax-s1, runs/gacl-cos-rankdrop4-s1 (about 30 min on 2 cores)
# Seed 0 is scripts/train_shipped.sh. Every stage resumes if re-run.
set -euo pipefail
SEED=${SEED:?set SEED}
DATA=${DATA:-../shared/data/quickdraw}
RUNS=${RUNS:-runs}
CATS="mouth eye dog horse cat face radio pig alarm_clock bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle"
common=(--data "$DATA" --categories $CATS --batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed "$SEED")
resume() { [ -f "$1/last.pt" ] && echo --resume || true; }
sm="$RUNS/softmax-s$SEED"
gc="$RUNS/gacl-cos-rankdrop4-s$SEED"
sketchq-train train --out "$sm" --head softmax --epochs 11 --lr 3e-3 --warmup-steps 200 "${common[@]}" $(resume "$sm")
sketchq-train train --out "$gc" --head gacl --gacl-kind cos --lr 1e-3 --warmup-steps 50 --q-init-median 60 \
  --ramp-steps 128 --epochs 5 --init-from "$sm/epoch_005.pt" --soft-bins-hold 1 --soft-bins-ramp 2 \
  --rank-weight 4 --rank-count 64 --rank-margin 0.15 --rank-kinds jitter,drop,drop "${common[@]}" $(resume "$gc")
for r in "$sm" "$gc"; do
  [ -f "$r/eval/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --out "$r/eval" --corruption-sample 1000
done
