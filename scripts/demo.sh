#!/usr/bin/env bash
# The main job: set up a fresh machine (idempotent), build the hearth-llm package and the
# demo page, and serve them with the default model (SmolLM2-135M-Instruct) on
# http://127.0.0.1:8080/ (PORT=... to change). Open the printed URL in a browser with
# WebGPU (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows); Ctrl+C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building the hearth-llm package and the demo (www/)"
(cd www && npm run build --silent)
echo "== serving the demo"
exec node www/scripts/serve-demo.mjs --port "${PORT:-8080}"
