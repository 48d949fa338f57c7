#!/usr/bin/env bash
# Ships a trained GACL run as models/gacl version VERSION and redoes everything downstream of the scorer:
#   1. evaluation on the test split (only now: the run was chosen on the validation split and the judged pairs);
#   2. ONNX export with the model card, attribution calibration and label-rule calibration (validation data);
#   3. the torch weights of the scorer (checkpoints/gacl/model.pt; the /enhance reference, and
#      tests/training/test_shipped_model.py compares them with the ONNX export);
#   4. agreement with the judged pairs into the card and docs/results/agreement/gacl-vVERSION;
#   5. the web page's examples, the /attribute evaluation, the label-noise evaluation and the /enhance
#      evaluation (a service on the new model, cache off).
#   RUN=runs/study/full-prefix-strong-all-s2 VERSION=4 scripts/ship_scorer.sh
# Each step is skipped when its output exists (delete it to redo). About 25 min on 2 cores.
set -euo pipefail
DATA=${DATA:-../shared/data/quickdraw}
PAIRS=${PAIRS:-../shared/judged/pairs-dev.jsonl}
RUN=${RUN:?the run folder to ship}
VERSION=${VERSION:?the version number}
PORT=${PORT:-8774}

[ -f "$RUN/eval/evaluation.json" ] || sketchq-train evaluate "$RUN/last.pt" --data "$DATA" --out "$RUN/eval" \
  --corruption-sample 1000 --pairs "$PAIRS"
sketchq-train export "$RUN/last.pt" --data "$DATA" --out models/gacl --name gacl --version "$VERSION" \
  --evaluation "$RUN/eval/evaluation.json"
sketchq-train calibrate models/gacl --data "$DATA" --n 300
sketchq-train calibrate-labels models/gacl --data "$DATA"
python -c "import sys, torch; c = torch.load(sys.argv[1], map_location='cpu', weights_only=False); \
[c.pop(k, None) for k in ('optim', 'sched')]; torch.save(c, sys.argv[2])" "$RUN/last.pt" checkpoints/gacl/model.pt
sketchq-train agreement models/gacl --baseline models/softmax --pairs "$PAIRS" \
  --out "docs/results/agreement/gacl-v$VERSION" --write-card
python -m service.web.examples
python scripts/label_noise_eval.py --model models/gacl --data "$DATA" --out docs/results/label_noise.json \
  --png docs/results/label_noise_pr.png

SKETCHQ_PORT=$PORT SKETCHQ_CACHE=off python -m service > "/tmp/ship-service-$PORT.log" 2>&1 &
svc=$!
trap 'kill $svc 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
  kill -0 $svc 2>/dev/null || { cat "/tmp/ship-service-$PORT.log"; exit 1; }; sleep 1
done
python scripts/eval_attribution.py --n 200 --server "http://127.0.0.1:$PORT" --out docs/results/attribution.json
python scripts/eval_enhance.py --server "http://127.0.0.1:$PORT" --split test --per-class 5 \
  --out docs/results/enhance/test_a0.05.json --figure docs/results/enhance_pairs.png --figure-rows 10
for a in 0.3 1; do
  python scripts/eval_enhance.py --server "http://127.0.0.1:$PORT" --split test --per-class 5 --alpha "$a" \
    --out "docs/results/enhance/test_a$a.json"
done
python scripts/report_enhance.py docs/results/enhance/test_*.json
