#!/usr/bin/env bash
# Train configs/segment/aits_gpu.yaml on a lent GPU, evaluate on Aits val, time segmentation there.
#
# Runs on the device machine in the repository root (`device` tool), ~9 minutes:
#   bash training/gpu_nuclei.sh
# with carry [".whl", ".device_data"], prepared here once:
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl jsonargparse==4.53.0 docstring_parser==0.18.0 typeshed_client==2.15.0
#   mkdir -p .device_data/nuclei && cp -r ../shared/data/nuclei/aits_trainval .device_data/nuclei/
# (both listed in .git/info/exclude). Outputs in $OUT (default /tmp/gpu_nuclei_out): fit.log, eval_*.json
# (both conventions, val split), the exported weights (last; soup of the best three; best is evaluated only) and throughput_*.json
# (the shipped nuclei-aits weights and the new ones).
# The best checkpoints are picked on val F1@0.9, so their val figures are optimistic; `last` is not picked.
# Environment: STEPS (12000), MAX_TIME (00:00:05:00), WORKERS (12), PRECISION (bf16-mixed), ACCEL (gpu), PY (python3), EXTRA
# (more overrides; a CPU dry run: ACCEL=cpu PRECISION=32 WORKERS=0 STEPS=4 EXTRA="--data.init_args.samples_per_epoch
# 16 --data.init_args.batch_size 4 --data.init_args.crop_size 64 --data.init_args.max_val_images 1").
set -euo pipefail
PY=${PY:-python3}
OUT=${OUT:-/tmp/gpu_nuclei_out}
mkdir -p "$OUT"
if [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 FERRO_THREADS=${FERRO_THREADS:-4}
DATA=${DATA:-.device_data/nuclei/aits_trainval}
ROOT_DIR=${ROOT_DIR:-/tmp/ferroscreen_nuclei_gpu}
rm -rf "$ROOT_DIR"
"$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
start=$(date +%s)
"$PY" training/train_nuclei.py fit --config configs/segment/aits_gpu.yaml \
  --data.init_args.root "$DATA" --data.init_args.num_workers "${WORKERS:-12}" \
  --trainer.default_root_dir "$ROOT_DIR" --trainer.accelerator "${ACCEL:-gpu}" \
  --trainer.precision "${PRECISION:-bf16-mixed}" --trainer.max_steps "${STEPS:-12000}" \
  --model.init_args.max_steps "${STEPS:-12000}" --trainer.max_time "${MAX_TIME:-00:00:05:00}" ${EXTRA:-} \
  2>&1 | tee "$OUT/fit.log" | tail -n 30
echo "fit: $(( $(date +%s) - start )) s"
ckpts=$(find "$ROOT_DIR" -name '*.ckpt')
last=$(echo "$ckpts" | grep '/last.ckpt$' | head -n 1)
best=$(echo "$ckpts" | grep '/best-' | sort -t= -k3 -r | head -n 3)
MODELS=$ROOT_DIR/exported
mkdir -p "$MODELS"
"$PY" training/train_nuclei.py export "$last" "$MODELS/nuclei_last.pt"
if [ -n "$best" ]; then
  "$PY" training/train_nuclei.py export "$(echo "$best" | head -n 1)" "$MODELS/nuclei_best.pt"
  # shellcheck disable=SC2086
  "$PY" training/train_nuclei.py export $best "$MODELS/nuclei_soup.pt"
fi
cp "$MODELS/nuclei_last.pt" "$OUT/"  # at most 8 files come back from the device: last and soup are kept
[ -f "$MODELS/nuclei_soup.pt" ] && cp "$MODELS/nuclei_soup.pt" "$OUT/"
for m in "$MODELS"/nuclei_*.pt; do
  name=$(basename "$m" .pt)
  "$PY" training/eval_nuclei.py --model "$m" --root "$DATA" --split val --threads 8 --json "$OUT/eval_$name.json" \
    | sed "s/^/$name /"
done
dev=$([ "${ACCEL:-gpu}" = cpu ] && echo cpu || echo cuda)
for m in nuclei-aits "$MODELS/nuclei_last.pt"; do  # the shipped weights and the new ones, side by side
  "$PY" benchmarks/segment_throughput.py --model "$m" --device "$dev" --frames "${FRAMES:-20}" --batch 4 \
    --json "$OUT/throughput_$(basename "$m" .pt).json" | tail -n 8
done
echo "total: $(( $(date +%s) - start )) s"
