# Sourced by the training scripts (train_pair.sh, train_11epoch_runs.sh, encoder_study.sh): the data, the 22
# categories and the optimiser settings every run of this project shares, so they are written once.
# Inputs (environment): DATA, RUNS, SEED (default 0).
DATA=${DATA:-../shared/data/quickdraw}
RUNS=${RUNS:-runs}
SEED=${SEED:-0}
CATS="mouth eye dog horse cat face radio pig alarm_clock bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle"
common=(--data "$DATA" --categories $CATS --batch-size 128 --optimizer adamw --weight-decay 1e-4 --schedule cosine --seed "$SEED")
# the softmax stage of every recipe: lr 3e-3, 200-step warm-up (plus --epochs and --out)
softmax_stage=(--head softmax --lr 3e-3 --warmup-steps 200)
resume() { [ -f "$1/last.pt" ] && echo --resume || true; }
# the GACL-Cos fine-tune of every recipe (plus --epochs, --init-from, the soft-binning schedule and --out)
gacl_stage=(--head gacl --gacl-kind cos --lr 1e-3 --warmup-steps 50 --q-init-median 60 --ramp-steps 128)
# the degradation ranking of the shipped versions 2 and 3 (training/losses/degrade.py)
rankdrop4=(--rank-weight 4 --rank-count 64 --rank-margin 0.15 --rank-kinds jitter,drop,drop)
# version 5's GACL stage on top of that (issue 12): GACL-Mul with outlier exposure, a string so the study's run table
# can extend it (a later flag overrides an earlier one)
mul_oe="--gacl-kind mul --outlier-count 32 --outlier-weight 4 --outlier-margin 0.5"
# the teachers of ensemble distillation (training/losses/distill.py): version 5's recipe, seeds 1-3, under run folder $1
mul_oe_teachers() { echo "$1"/full-mul-oe-s{1,2,3}/last.pt; }
