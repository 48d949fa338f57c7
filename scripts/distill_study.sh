#!/usr/bin/env bash
# Issue 12: ensemble distillation (training/losses/distill.py; docs/results/agreement.md, "Distilling the ensemble").
# The mean log q of full-mul-oe's three seeds agrees with people more than any one seed; a student fine-tuned to
# follow it keeps one encoder's cost. Each run below fine-tunes a full-mul-oe run (scripts/agreement_study.sh
# full-mul-oe, seeds 1-3, must exist) for EPOCHS epochs with GACL-Mul + outlier exposure as before, at a lower
# learning rate, continuous q (no soft binning), with or without the teachers:
#   SEED=3 scripts/distill_study.sh ft-oe ft-oe-distill-w8
# ft-oe is the control (the same fine-tune without teachers: what more training alone does). Runs go to
# $OUT/NAME-sSEED, each evaluated like the study's (validation split, dev pairs).
set -euo pipefail
source "$(dirname "$0")/recipe.sh"
PAIRS=${PAIRS:-../shared/judged/pairs-dev.jsonl}
OUT=${OUT:-$RUNS/study}
EPOCHS=${EPOCHS:-3}
# shellcheck disable=SC2206  # the recipe's flags are split on purpose
finetune=(--head gacl --init-from "$OUT/full-mul-oe-s$SEED/last.pt" --q-init-median 0 --ramp-steps 0 --lr 3e-4
          --warmup-steps 50 --epochs "$EPOCHS" --no-soft-binning "${rankdrop4[@]}" $mul_oe)

declare -A RUN
RUN[ft-oe]=""
RUN[ft-oe-distill-w8]="--distill-weight 8 --distill-from $(mul_oe_teachers "$OUT")"

for name in "$@"; do
  [ -n "${RUN[$name]+x}" ] || { echo "unknown run $name (one of ${!RUN[*]})" >&2; exit 2; }
  r="$OUT/$name-s$SEED" last=$(printf %03d $(( EPOCHS - 1 )))
  # shellcheck disable=SC2086  # the run's flags are split on purpose
  [ -f "$r/epoch_$last.pt" ] || sketchq-train train --out "$r" "${finetune[@]}" ${RUN[$name]} "${common[@]}" \
    ${THREADS:+--threads "$THREADS"} $(resume "$r")
  [ -f "$r/eval-val/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --split val \
    --out "$r/eval-val" --corruption-sample 1000 --pairs "$PAIRS"
done
