#!/usr/bin/env bash
# Issue 12, the study of annotation-free levers on agreement with people (docs/results/agreement.md).
# Two protocols, each run evaluated on the validation split with the judged pairs (sketchq-train evaluate
# --split val --pairs ...); the test split is never used to choose.
# - Continuation (names without "full-"): the lever continues the shipped scorer (checkpoints/gacl/model.pt,
#   GACL-Cos v3) for the same 2 epochs (AdamW lr 3e-4, 50-step warm-up, one cosine, seed 0, q's scale kept).
# - Full budget ("full-..."): the shipped recipe's GACL stage (10 epochs from softmax epoch 6 of a 16-epoch
#   schedule, seed 1, scripts/train_pair.sh) with one thing changed; "full-v3" is the recipe unchanged.
#   Encoders other than conv-compact get their own softmax stage (epochs 0-5 of the same schedule).
#   scripts/agreement_study.sh              the continuation runs, in order (each resumes / is skipped when done)
#   scripts/agreement_study.sh full         the full-budget runs
#   scripts/agreement_study.sh NAME...      only these
# Full-budget runs write to $OUT/NAME-sSEED (SEED=2 scripts/agreement_study.sh full-v3: $OUT/full-v3-s2).
# THREADS=n limits torch's threads (two studies side by side on 2 cores: THREADS=1).
set -euo pipefail
source "$(dirname "$0")/recipe.sh"
PAIRS=${PAIRS:-../shared/judged/pairs-dev.jsonl}
OUT=${OUT:-$RUNS/study}
V3=${V3:-checkpoints/gacl/model.pt}
opt=(--batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed "$SEED" ${THREADS:+--threads "$THREADS"})
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
RUN[rank-w8-m03]="${cats[*]} --rank-weight 8 --rank-count 64 --rank-margin 0.3 --rank-kinds jitter,drop,drop"
RUN[rank-add]="${cats[*]} ${rank[*]} --rank-kinds jitter,drop,add"
RUN[prefix-class-strong]="${cats[*]} --rank-weight 8 --rank-count 64 --rank-margin 0.5 --rank-kinds prefix,prefix,drop --rank-reference class"
# the same, with foreign strokes and jitter ranked too (so stray strokes keep lowering q)
strong_all="--rank-count 80 --rank-kinds prefix,prefix,drop,add,jitter --rank-reference class"
RUN[prefix-strong-all]="${cats[*]} --rank-weight 8 --rank-margin 0.5 $strong_all"
RUN[prefix-xstrong-all]="${cats[*]} --rank-weight 16 --rank-margin 1.0 $strong_all"
ORDER=(control prefix-class classes344 softbin5 drop-class prefix-own classes344-prefix-class softbin5-t1 kind-sca
       kind-mul kind-add)

# full budget: NAME -> "PRESET|CLASSES (22: the shipped ones, all: every category)|extra GACL-stage flags[|GACL epochs, 10]"
declare -A FULL
FULL[full-v3]="conv-compact|22|"
FULL[full-nobin]="conv-compact|22|--no-soft-binning"
FULL[full-bin-t1]="conv-compact|22|--bin-temperature 1.0"
FULL[full-bin-hold]="conv-compact|22|--soft-bins-hold 10"
FULL[full-kind-sca]="conv-compact|22|--gacl-kind sca"
FULL[full-kind-mul]="conv-compact|22|--gacl-kind mul"
FULL[full-kind-add]="conv-compact|22|--gacl-kind add"
FULL[full-prefix-class]="conv-compact|22|--rank-kinds jitter,drop,prefix --rank-reference class"
FULL[full-raster]="raster-small|22|"
FULL[full-hybrid]="hybrid-small|22|"
FULL[full-classes344]="conv-compact|all|"
FULL[full-prefix-strong-all]="conv-compact|22|--rank-weight 8 --rank-margin 0.5 $strong_all"
# v4's recipe on the other encoders
FULL[full-raster-psa]="raster-small|22|--rank-weight 8 --rank-margin 0.5 $strong_all"
FULL[full-hybrid-psa]="hybrid-small|22|--rank-weight 8 --rank-margin 0.5 $strong_all"
# v4's recipe with later prefixes (50-95 % of the strokes instead of 30-80 %): a finer completeness signal
FULL[full-psa-prefix-late]="conv-compact|22|--rank-weight 8 --rank-margin 0.5 $strong_all --rank-prefix-min 0.5 --rank-prefix-max 0.95"
# v4's recipe with one of its two prefix parts replaced by `detail` (the drawing without its short strokes,
# the details a bare outline lacks) below the class level: completeness beyond stroke order
FULL[full-psa-detail]="conv-compact|22|--rank-weight 8 --rank-margin 0.5 --rank-count 80 --rank-kinds prefix,detail,drop,add,jitter --rank-reference class"
# the detail lever alone: both prefix parts replaced by `detail`
FULL[full-detail-all]="conv-compact|22|--rank-weight 8 --rank-margin 0.5 --rank-count 80 --rank-kinds detail,detail,drop,add,jitter --rank-reference class"
# v4's recipe on every category of the shared data (344): a finer class geometry at the full budget
FULL[full-psa-classes344]="conv-compact|all|--rank-weight 8 --rank-margin 0.5 $strong_all"
# GACL-Sca (q as a scale, the paper's Sec. 3.3) with v4's ranking: full-kind-sca agreed more with people than any
# cos run, but lost top-1, AUROC and scribbles; v4's ranking of foreign strokes and jitter may restore those
FULL[full-sca-psa]="conv-compact|22|--gacl-kind sca --rank-weight 8 --rank-margin 0.5 $strong_all"
# GACL-Mul with v4's ranking: full-kind-mul agreed with people far more than any cos run (0.704 against 0.634
# for full-v3), but its q let scribbles through (0.757 below clean) and lost AUROC; v4's ranking adds foreign strokes
FULL[full-mul-psa]="conv-compact|22|--gacl-kind mul --rank-weight 8 --rank-margin 0.5 $strong_all"
# GACL-Mul with v3's ranking strength but foreign strokes in place of one of the two drops: full-mul-psa fixed
# scribbles but gave back most of the agreement; this ranks scribbles at v3's weight only
FULL[full-mul-add]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,add"
# GACL-Mul's margin range (the paper's l_q, u_q; default 1.1 -> 1.25): how strongly q is tied to the angle. Mul
# (corr(q, theta) -0.62) agreed with people more than cos (-0.73) and sca (-0.13); twice and half its slope k
FULL[full-mul-um14]="conv-compact|22|--gacl-kind mul --u-m 1.4"
FULL[full-mul-um1175]="conv-compact|22|--gacl-kind mul --u-m 1.175"
# full-mul-add at half the ranking weight: its scribble check (0.981) has room above the 0.85 target, and the
# foreign-stroke ranking took back half of mul's agreement
FULL[full-mul-add-w2]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,add --rank-weight 2"
# full-mul-add with the foreign strokes shaken (`scrawl`): a messy addition, not a clean detail, is ranked down,
# so that q can still reward the details people draw while scribbles lower it
FULL[full-mul-scrawl]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,scrawl"
# GACL-Mul with unfinished drawings ranked below the class level (prefix-class-strong's ranking, no foreign
# strokes): does the completeness signal that lifted cos add to mul's gain?
FULL[full-mul-prefix]="conv-compact|22|--gacl-kind mul --rank-weight 8 --rank-margin 0.5 --rank-kinds prefix,prefix,drop --rank-reference class"
# the paper's soft binning (Sec. 3.5, credited with 72.35 -> 78.13 % agreement) with GACL-Mul: off, and at
# temperature 1.0 instead of 0.1 (the recipe: 5 cut points for 2 epochs, rising to 20 over 4, then continuous q)
FULL[full-mul-nobin]="conv-compact|22|--gacl-kind mul --no-soft-binning"
FULL[full-mul-bin-t1]="conv-compact|22|--gacl-kind mul --bin-temperature 1.0"
# full-mul-add with a counterweight: the drawing without its details (only its longest strokes) ranked below
# the drawing itself, so that q learns "its own details raise q" beside "foreign strokes lower it" instead of
# "any added stroke lowers it" (every ranking of added strokes alone took back mul's gain)
FULL[full-mul-add-detail]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,add,detail"
# GACL-Mul with its own strokes redrawn by an unsteady hand (`wobble`) ranked below the drawing: the pairs mul gets
# wrong most confidently are wavering triangles and squares over straight ones (more points, more q); wobbly lines
# ranked down, without any stroke added, may also lower q for scribbles without the "more strokes, lower q" pull
FULL[full-mul-wobble]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,wobble"
# the same, the wavering copy also below the class level (other clean drawings of its category, not only its own)
FULL[full-mul-wobble-class]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,wobble --rank-reference class"
# Every kind put in place of the second "drop" of the recipe's ranking (jitter,drop,drop over 64 sketches) cost mul
# 0.03-0.045 (add, scrawl, detail+add, wobble), except prefix, itself a "fewer strokes" kind (-0.008): is it the
# added kind that costs, or the halved share of dropped strokes? Foreign strokes added beside both drops (a fourth
# part, 86 ranked sketches so each part keeps its size), and a third drop in that place
FULL[full-mul-add-keepdrop]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,drop,add --rank-count 86"
FULL[full-mul-drop3]="conv-compact|22|--gacl-kind mul --rank-kinds jitter,drop,drop,drop --rank-count 86"
# capacity: GACL-Mul on a wider encoder (conv-wide, 1.99M parameters against 0.89M; its own softmax stage)
FULL[full-mul-wide]="conv-wide|22|--gacl-kind mul"
# ... and with foreign strokes ranked down: can a larger encoder tell a drawing's own details (which people reward)
# from foreign strokes (which the scribble check punishes), where conv-compact could not (full-mul-add)?
FULL[full-mul-wide-add]="conv-wide|22|--gacl-kind mul --rank-kinds jitter,drop,add"
# Outlier exposure (training/data/outliers.py): 32 drawings a batch of the data's other 322 categories must score
# 0.5 below the batch's mean clean log q. GACL-Mul agreed with people most but lost AUROC and let scribbles raise
# q; does learning "another category's drawing scores low" restore those without a ranking that punishes ink?
FULL[full-mul-oe]="conv-compact|22|$mul_oe"
# ... at twice the hinge weight: does a stronger push widen the scribble margin (0.83-0.86 over full-mul-oe's seeds)
# and at what cost in agreement and top-1?
FULL[full-mul-oe-w8]="conv-compact|22|$mul_oe --outlier-weight 8"
# ... with outliers drawn among those no longer than the batch's padded length (about half the CPU: random-length
# outliers pad the length-sorted batches to their longest): does it keep full-mul-oe's results?
FULL[full-mul-oe-len]="conv-compact|22|$mul_oe --outlier-lengths batch"
# ... with twice the outliers a batch (64): a wider scribble margin at the same agreement?
FULL[full-mul-oe-c64]="conv-compact|22|$mul_oe --outlier-count 64"
# ... with twice the margin (log q 1.0 below the clean mean instead of 0.5): a wider scribble margin, and at what cost?
FULL[full-mul-oe-m1]="conv-compact|22|$mul_oe --outlier-margin 1.0"
# ... with the ensemble of full-mul-oe's seeds 1-3 as teachers (training/losses/distill.py), for a seed outside them
# (SEED=4): does a student trained from its softmax stage with them take more of the ensemble's gain (0.729 / 0.791)
# than v5's fine-tune did? Its control is full-mul-oe with the same seed.
distill="--distill-weight 8 --distill-from $(mul_oe_teachers "$OUT")"
FULL[full-mul-oe-distill]="conv-compact|22|$mul_oe $distill"
# ... with a GACL stage twice as long (20 epochs; the 10-epoch run's training loss was still falling): is the recipe
# short of training rather than of data?
FULL[full-mul-oe-e20]="conv-compact|22|$mul_oe|20"
# Mirror augmentation (--mirror-prob 0.5, training sketches and outliers flipped left-right): every category here reads
# the same mirrored, so each drawing counts twice; more drawings per category was the one lever with a steady gain
# (+0.017 agreement a doubling). On v5's recipe (control: full-mul-oe, same seed) and on the distilled student
FULL[full-mul-oe-mirror]="conv-compact|22|$mul_oe --mirror-prob 0.5"
FULL[full-mul-oe-distill-mirror]="conv-compact|22|$mul_oe --mirror-prob 0.5 $distill"
# ... and twice the rotation and scaling (+-20 degrees, each axis x 1 +- 0.2, against +-10 and 0.1): more views of each
# drawing again, as the mirror was (control: full-mul-oe-mirror, same seed)
FULL[full-mul-oe-mirror-geo]="conv-compact|22|$mul_oe --mirror-prob 0.5 --rotate-degrees 20 --scale-range 0.2"
# Soft binning's cut-point schedule on v5's recipe: the 5 coarse cut points held for the whole GACL stage (no ramp to
# finer bins or to continuous q; the last --soft-bins-hold wins over full()'s): the paper credits binning with its
# agreement gain (Sec. 3.5); off and at temperature 1.0 it moved GACL-Mul by about 0.01 (control: full-mul-oe, same seed)
FULL[full-mul-oe-bin-hold]="conv-compact|22|$mul_oe --soft-bins-hold 10"
FULL_ORDER=(full-v3 full-nobin full-raster full-kind-sca full-kind-mul full-kind-add full-bin-t1 full-prefix-class full-hybrid
            full-bin-hold full-classes344)
declare -A STEPS6=([22]=$(( 6 * 257 )) [all]=$(( 6 * 381 )))  # 6 epochs of 32,824 / 48,704 sketches, batch 128

evaluate() {
  [ -f "$1/eval-val/evaluation.json" ] || sketchq-train evaluate "$1/last.pt" --data "$DATA" --split val \
    --out "$1/eval-val" --corruption-sample 1000 --pairs "$PAIRS"
}

full() {
  local name=$1 preset classes extra epochs
  IFS="|" read -r preset classes extra epochs <<< "${FULL[$1]}"
  epochs=${epochs:-10}  # the GACL stage's epochs; soft binning holds for a fifth of them and ramps over two fifths
  local sm="$OUT/softmax-$preset-$classes-s$SEED" r="$OUT/$name-s$SEED" data=("${common[@]}" ${THREADS:+--threads "$THREADS"})
  [ "$classes" = 22 ] || data=("${opt[@]}" "${every[@]}")
  [ -f "$sm/epoch_005.pt" ] || sketchq-train train --out "$sm" --preset "$preset" "${softmax_stage[@]}" --epochs 16 \
    --max-steps "${STEPS6[$classes]}" "${data[@]}" $(resume "$sm")
  # shellcheck disable=SC2086  # the run's flags are split on purpose
  [ -f "$r/epoch_$(printf %03d $(( epochs - 1 ))).pt" ] || sketchq-train train --out "$r" --preset "$preset" \
    "${gacl_stage[@]}" --epochs "$epochs" --init-from "$sm/epoch_005.pt" --soft-bins-hold $(( epochs / 5 )) \
    --soft-bins-ramp $(( 2 * epochs / 5 )) "${rankdrop4[@]}" $extra "${data[@]}" $(resume "$r")
  evaluate "$r"
}

if [ "${1:-}" = full ]; then set -- "${FULL_ORDER[@]}"; fi
for name in "${@:-${ORDER[@]}}"; do
  if [ -n "${FULL[$name]:-}" ]; then full "$name" || echo "run $name failed" >&2; continue; fi
  r="$OUT/$name"
  # shellcheck disable=SC2086  # the run's flags are split on purpose
  { [ -f "$r/epoch_001.pt" ] || sketchq-train train --out "$r" "${cont[@]}" "${opt[@]}" ${RUN[$name]} $(resume "$r")
    evaluate "$r"; } || echo "run $name failed" >&2
done
