#!/bin/bash
# Issue 16's targets, measured on a quiet machine: a 30-token sentence translated and inspected with the built-in model
# (`serve`'s /api/translate then /api/inspect, 2 threads, 10 rounds after one warm-up), and the size of the viewer's HTML
# for a 128-token sentence with gates (a recurrent translator, RUN_DIR).
#   experiments/inspection/latency.sh RECURRENT_RUN_DIR [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=$1; OUT=${2:-runs/inspection}
mkdir -p "$OUT"
[ -n "${CLI_PREBUILT:-}" ] || dotnet build -c Release src/Transformers.Cli >/dev/null
CLI=${CLI:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}
SENTENCE="Impossible d'ouvrir le fichier de configuration « %s » : le répertoire parent n'existe pas ou vous n'avez pas les droits nécessaires pour le lire."
$CLI serve --model builtin --port 5077 --threads 2 2> "$OUT/serve.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:5077/ && break; sleep 1; done
body=$(printf '{"text": "%s", "beam": 4}' "$SENTENCE")
: > "$OUT/latency.txt"
for round in 0 1 2 3 4 5 6 7 8 9 10; do
  t=$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:5077/api/translate)
  i=$(curl -s -o "$OUT/inspect.json" -w '%{time_total}' -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:5077/api/inspect)
  [ "$round" = 0 ] || echo "translate $t inspect $i" >> "$OUT/latency.txt"
done
python3 -c "import json; r = json.load(open('$OUT/inspect.json')); print('source tokens', len(r['tokens']['source']), 'target tokens', len(r['tokens']['target']))" >> "$OUT/latency.txt"
kill $SERVER
# 128 source tokens: the sentence repeated, cut by the tokenizer at the model's limit if needed.
LONG=$(python3 -c "print(' '.join(['le fichier de configuration est introuvable'] * 22))")
$CLI heads --model "$RUN" --text "$LONG" --out "$OUT/heads-128" --no-png --no-importance --threads 2 > /dev/null 2> "$OUT/heads-128.err"
ls -l "$OUT/heads-128/heads.html" >> "$OUT/latency.txt"
cat "$OUT/latency.txt"
