#!/usr/bin/env bash
# Regenerates tests/data/reference/smollm2-135m-instruct-q4_1.json with llama.cpp as the
# reference: installs node-llama-cpp (pinned; it ships a prebuilt llama.cpp, no compiler needed)
# into a scratch folder and runs scripts/reference-tokens.mjs on the default model.
# Usage: scripts/reference-tokens.sh [MODEL.gguf]   (default: models/SmolLM2-135M-Instruct.Q4_1.gguf)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$(realpath "${1:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}")"
out="$root/tests/data/reference/smollm2-135m-instruct-q4_1.json"
work="${REFERENCE_WORK_DIR:-$root/target/reference-llama-cpp}"
mkdir -p "$work"
cd "$work"
[ -f package.json ] || echo '{"name":"popbench-reference","private":true,"type":"module"}' > package.json
[ -d node_modules/node-llama-cpp ] || npm install --no-audit --no-fund node-llama-cpp@3.22.1 </dev/null
cp "$root/scripts/reference-tokens.mjs" "$work/reference-tokens.mjs"
MODEL_SHA256="$(sha256sum "$model" | cut -d' ' -f1)" node reference-tokens.mjs "$model" "$out"
