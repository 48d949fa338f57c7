#!/usr/bin/env bash
# Issue 12: does agreement with people grow with the drawings per category? (docs/results/agreement.md,
# "Data per category"). A recipe of the agreement study (scripts/agreement_study.sh's full budget) trained on
# at most CAP training drawings of each of the 22 categories (--max-per-class: a seeded sample; the split of
# a drawing is its hash, so the judged pairs' val/test drawings never enter training), at the SAME number of
# optimiser steps as the full-data run: the epochs (and the soft-binning epochs) are stretched by
# 257 / (steps per epoch at CAP), so a smaller set is seen more often, not for less time.
#   SEED=1 scripts/data_scaling.sh mul 250 500 1000     GACL-Mul (full-kind-mul) at three caps
#   SEED=1 scripts/data_scaling.sh cos 500              GACL-Cos with v3's ranking (full-v3)
# Runs go to $OUT/scale-RECIPE-cCAP-sSEED, each evaluated like the study's (validation split, dev pairs).
set -euo pipefail
source "$(dirname "$0")/recipe.sh"
PAIRS=${PAIRS:-../shared/judged/pairs-dev.jsonl}
OUT=${OUT:-$RUNS/study}
recipe=$1; shift
case $recipe in
  mul) extra=(--gacl-kind mul) ;;
  cos) extra=() ;;
  *) echo "recipe: mul or cos" >&2; exit 2 ;;
esac
data=("${common[@]}" ${THREADS:+--threads "$THREADS"})
BATCH=128  # recipe.sh's --batch-size

# steps per epoch of the 22 categories' training split, at most CAP drawings a category (None: all of them),
# after the same seeded sample the run will draw
steps_per_epoch() {
  python -c "
from training.data.splits import read_classes, split_of
_, recs = read_classes(['$DATA'], '$CATS'.split(), $1, $SEED)
print(-(-sum(split_of(r.strokes) == 'train' for r in recs) // $BATCH))"
}
FULL_STEPS=$(steps_per_epoch None)  # 257: 32,824 drawings

for cap in "$@"; do
  spe=$(steps_per_epoch "$cap")
  k=$(( (FULL_STEPS + spe / 2) / spe ))  # the stretch, rounded (at least 1)
  [ "$k" -ge 1 ] || k=1
  sm="$OUT/scale-softmax-c$cap-s$SEED" r="$OUT/scale-$recipe-c$cap-s$SEED"
  echo "cap $cap: $spe steps per epoch, epochs x $k" >&2
  [ -f "$sm/epoch_$(printf %03d $(( 6 * k - 1 )))".pt ] || sketchq-train train --out "$sm" "${softmax_stage[@]}" \
    --epochs $(( 16 * k )) --max-steps $(( 6 * k * spe )) --max-per-class "$cap" "${data[@]}" $(resume "$sm")
  last=$(printf %03d $(( 10 * k - 1 )))
  # shellcheck disable=SC2086  # the epoch arithmetic is unquoted on purpose
  [ -f "$r/epoch_$last.pt" ] || sketchq-train train --out "$r" "${gacl_stage[@]}" --epochs $(( 10 * k )) \
    --init-from "$sm/epoch_$(printf %03d $(( 6 * k - 1 ))).pt" --soft-bins-hold $(( 2 * k )) \
    --soft-bins-ramp $(( 4 * k )) "${rankdrop4[@]}" "${extra[@]}" --max-per-class "$cap" "${data[@]}" $(resume "$r")
  [ -f "$r/eval-val/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --split val \
    --out "$r/eval-val" --corruption-sample 1000 --pairs "$PAIRS"
done
