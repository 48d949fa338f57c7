#!/usr/bin/env bash
# Issue 12, the study of annotation-free levers on agreement with people (docs/results/agreement.md).
# Screening protocol: every lever continues the shipped scorer (checkpoints/gacl-cos/model.pt, GACL-Cos v3)
# for the same 2 epochs (AdamW lr 3e-4, 50-step warm-up, one cosine, seed 0, q's scale kept), so they differ
# only in the lever; each run is then evaluated on the validation split with the judged pairs
# (sketchq-train evaluate --split val --pairs ...). The test split is not used to choose.
#   scripts/agreement_study.sh              all runs below, in order (each resumes / is skipped when done)
#   scripts/agreement_study.sh NAME...      only these
set -euo pipefail
source "$(dirname "$0")/recipe.sh"
PAIRS=${PAIRS:-../shared/judged/pairs-dev.jsonl}
OUT=${OUT:-$RUNS/study}
V3=${V3:-checkpoints/gacl-cos/model.pt}
opt=(--batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed "$SEED")
cont=(--head gacl --gacl-kind cos --init-from "$V3" --q-init-median 0 --ramp-steps 0 --lr 3e-4 --warmup-steps 50
      --epochs 2 --no-soft-binning)
rank=(--rank-weight 4 --rank-count 64 --rank-margin 0.15)
v3rank=("${rank[@]}" --rank-kinds jitter,drop,drop)
cats=(--data "$DATA" --categories $CATS)
every=(--data "$DATA")  # all 344 categories of the shared data

declare -A RUN
RUN[control]="${cats[*]} ${v3rank[*]}"
RUN[prefix-own]="${cats[*]} ${rank[*]} --rank-kinds jitter,drop,prefix"
RUN[prefix-class]="${cats[*]} ${rank[*]} --rank-kinds jitter,drop,prefix --rank-reference class"
RUN[drop-class]="${cats[*]} ${v3rank[*]} --rank-reference class"
RUN[classes344]="${every[*]} ${v3rank[*]}"
RUN[classes344-prefix-class]="${every[*]} ${rank[*]} --rank-kinds jitter,drop,prefix --rank-reference class"
RUN[softbin5]="${cats[*]} ${v3rank[*]} --soft-binning --soft-bins-hold 2 --soft-bins-start 5"
RUN[softbin5-t1]="${cats[*]} ${v3rank[*]} --soft-binning --soft-bins-hold 2 --soft-bins-start 5 --bin-temperature 1.0"
RUN[kind-sca]="${cats[*]} ${v3rank[*]} --gacl-kind sca"
RUN[kind-mul]="${cats[*]} ${v3rank[*]} --gacl-kind mul"
RUN[kind-add]="${cats[*]} ${v3rank[*]} --gacl-kind add"
ORDER=(control prefix-class classes344 softbin5 drop-class prefix-own classes344-prefix-class softbin5-t1 kind-sca
       kind-mul kind-add)

for name in "${@:-${ORDER[@]}}"; do
  r="$OUT/$name"
  # shellcheck disable=SC2086  # the run's flags are split on purpose
  [ -f "$r/epoch_001.pt" ] || sketchq-train train --out "$r" "${cont[@]}" "${opt[@]}" ${RUN[$name]} $(resume "$r")
  [ -f "$r/eval-val/evaluation.json" ] || sketchq-train evaluate "$r/last.pt" --data "$DATA" --split val \
    --out "$r/eval-val" --corruption-sample 1000 --pairs "$PAIRS"
done
