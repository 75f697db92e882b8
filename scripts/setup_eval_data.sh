#!/usr/bin/env bash
# Held-out evaluation data for `longmem eval-ppl` / `eval-icl` (never used to train the SideNet), kept out of
# the README's two commands because it pulls in R: Jane Austen's six novels (r-cran-janeaustenr) and the
# Jargon File (jargon-text) as long documents; word lists with labels (tidytext's Bing sentiment lexicon and
# Moby part-of-speech list), written to data/eval/ by scripts/extract_eval_data.R. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(r-cran-janeaustenr r-cran-tidytext jargon-text)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup_eval_data: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -s data/eval/icl-pos.tsv ]; then
  mkdir -p data/eval
  Rscript scripts/extract_eval_data.R data/eval
fi
if [ ! -s data/eval/jargon.txt ]; then
  gzip -dc /usr/share/doc/jargon-text/jargon.txt.gz > data/eval/jargon.txt.part
  mv data/eval/jargon.txt.part data/eval/jargon.txt
fi
