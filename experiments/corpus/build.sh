#!/usr/bin/env bash
# Rebuilds the bundled French->English corpus (src/Transformers/Data/Bundled/fr-en.tsv.gz), its
# NOTICE and experiments/corpus/report.md from the pinned Debian 12 packages in packages.txt.
# Needs a Debian 12 machine with apt (run as root, or with a user allowed to apt-get download);
# nothing is installed: the .deb files are downloaded and unpacked with dpkg-deb -x in a temp dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${CORPUS_WORK:-$(mktemp -d)}"
mkdir -p "$work/debs" "$work/root"

if [[ "${SKIP_APT_UPDATE:-0}" != 1 ]]; then apt-get update -qq; fi
(cd "$work/debs" && apt-get download -q $(grep -v '^#' "$here/packages.txt"))

for deb in "$work"/debs/*.deb; do
  name="$(dpkg-deb -f "$deb" Package)"
  mkdir -p "$work/root/$name"
  dpkg-deb -x "$deb" "$work/root/$name"
done

bundled="$repo/src/Transformers/Data/Bundled"
mkdir -p "$bundled"
dotnet run -c Release --project "$repo/experiments/CorpusBuilder" -- \
  "$here/packages.txt" "$work/root" "$bundled/fr-en.tsv.gz" "$here/report.md" "$bundled/NOTICE.md"
echo "sha256: $(sha256sum "$bundled/fr-en.tsv.gz" | cut -d' ' -f1)"
if [[ -z "${CORPUS_WORK:-}" ]]; then rm -rf "$work"; fi
