#!/usr/bin/env bash
# Softmax vs GACL-Cos with degradation ranking at one budget and seed, then both evaluated on the test split
# (models/README.md: "Three seeds" and "A longer budget"). The GACL stage starts from softmax epoch 6 and
# runs EPOCHS - 6 epochs; its soft-binning schedule scales with it (5 epochs: 1 epoch of 5 cut points, then
# 2 rising to 20; 10 epochs: 2 then 4). Otherwise the shipped recipe (scripts/train_shipped.sh).
#   SEED=1 scripts/train_pair.sh             -> runs/softmax-s1, runs/gacl-cos-rankdrop4-s1 (~30 min, 2 cores)
#   EPOCHS=16 scripts/train_pair.sh          -> runs/softmax-e16, runs/gacl-cos-rankdrop4-e16 (~50 min)
#   EPOCHS=16 SEED=1 scripts/train_pair.sh   -> runs/softmax-e16-s1, runs/gacl-cos-rankdrop4-e16-s1
# Every stage resumes if re-run.
set -euo pipefail
EPOCHS=${EPOCHS:-11}
source "$(dirname "$0")/recipe.sh"
tag=$([ "$EPOCHS" = 11 ] || echo "-e$EPOCHS")$([ "$SEED" = 0 ] || echo "-s$SEED")
sm="$RUNS/softmax$tag"
gc="$RUNS/gacl-cos-rankdrop4$tag"
hold=$(( (EPOCHS - 6) / 5 ))
sketchq-train train --out "$sm" "${softmax_stage[@]}" --epochs "$EPOCHS" "${common[@]}" $(resume "$sm")
sketchq-train train --out "$gc" "${gacl_stage[@]}" --epochs $(( EPOCHS - 6 )) --init-from "$sm/epoch_005.pt" \
  --soft-bins-hold "$hold" --soft-bins-ramp $(( 2 * hold )) "${rankdrop4[@]}" "${common[@]}" $(resume "$gc")
for r in "$sm" "$gc"; do
  [ -f "$r/eval/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --out "$r/eval" --corruption-sample 1000
done
