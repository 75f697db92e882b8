#!/usr/bin/env bash
# Held-out evaluation data for `longmem eval-ppl` / `eval-icl` (never used to train the SideNet), kept out of
# the README's two commands because it pulls in R: Jane Austen's six novels (r-cran-janeaustenr) and the
# Jargon File (jargon-text) as long documents; word lists with labels (tidytext's Bing sentiment lexicon and
# Moby part-of-speech list), written to data/eval/ by scripts/extract_eval_data.R. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(r-cran-janeaustenr r-cran-tidytext jargon-text)
source scripts/apt_install.sh
apt_install_missing setup_eval_data "${PACKAGES[@]}"
if [ ! -s data/eval/icl-pos.tsv ]; then
  mkdir -p data/eval
  Rscript scripts/extract_eval_data.R data/eval
fi
if [ ! -s data/eval/jargon.txt ]; then
  gzip -dc /usr/share/doc/jargon-text/jargon.txt.gz > data/eval/jargon.txt.part
  mv data/eval/jargon.txt.part data/eval/jargon.txt
fi
