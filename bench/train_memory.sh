#!/usr/bin/env bash
# Training-memory grid: runs lm_bench_train_memory once per (config, T) in its own process (peaks never mix),
# collects the JSON lines, fits peak = a + b·T per config by least squares and reports the longest T that
# fits a memory budget per config, its ratio to plain, and each config's throughput cost.
#
#   bench/train_memory.sh [options] T [T ...]
#     -c, --configs LIST    comma list of plain, mst, ckpt (checkpointing alone), mst+ckpt (default: plain,mst,mst+ckpt);
#                           ckpt:N / mst+ckpt:N recompute N blocks per saved input (default: the span that saves most)
#     -g, --budget-gib G    memory budget in GiB (default 8)
#     -m, --model FILE      default models/smollm2-135m-instruct-q4_1.gguf
#     -t, --trainable SPEC  full (default) | lora:q,v | side:256 | layers:0-3 ...
#     -o, --out FILE        JSON lines, appended (default build/train_memory/<trainable>.jsonl)
#     -j, --threads N       threads per step (default: all cores)
#     -b, --bin PATH        the benchmark binary (default: the first of build/{release,dev,h-mst}/bench)
#     --fit-min-t N         fit only lines with T >= N (small T carries saturating chunk buffers; default 0)
#     --fit-only            fit the lines already in --out, run nothing
# The step runs no optimiser, so AdamW's m/v are never allocated: the budget compares weights + grads +
# activations (the MST paper's figure); the AdamW-included budget (8 B more per trainable value) follows.
set -euo pipefail
cd "$(dirname "$0")/.."

configs="plain,mst,mst+ckpt" budget=8 model="models/smollm2-135m-instruct-q4_1.gguf" trainable="full"
out="" threads=0 bin="" fit_only=0 fit_min_t=0 lengths=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -c|--configs) configs="$2"; shift 2 ;;
    -g|--budget-gib) budget="$2"; shift 2 ;;
    -m|--model) model="$2"; shift 2 ;;
    -t|--trainable) trainable="$2"; shift 2 ;;
    -o|--out) out="$2"; shift 2 ;;
    -j|--threads) threads="$2"; shift 2 ;;
    -b|--bin) bin="$2"; shift 2 ;;
    --fit-min-t) fit_min_t="$2"; shift 2 ;;
    --fit-only) fit_only=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "train_memory.sh: unknown option $1" >&2; exit 2 ;;
    *) lengths+=("$1"); shift ;;
  esac
done
[[ -z "$out" ]] && out="build/train_memory/$(echo "$trainable" | tr -c 'A-Za-z0-9_\n' '_').jsonl"
mkdir -p "$(dirname "$out")"

if [[ $fit_only -eq 0 ]]; then
  [[ ${#lengths[@]} -gt 0 ]] || { echo "train_memory.sh: give at least one T (e.g. 256 512 1024)" >&2; exit 2; }
  if [[ -z "$bin" ]]; then
    for d in release dev h-mst; do
      [[ -x "build/$d/bench/lm_bench_train_memory" ]] && { bin="build/$d/bench/lm_bench_train_memory"; break; }
    done
  fi
  [[ -x "$bin" ]] || { echo "train_memory.sh: lm_bench_train_memory not built; hint: --bin PATH" >&2; exit 2; }
  IFS=',' read -r -a config_list <<< "$configs"
  for T in "${lengths[@]}"; do
    for cfg in "${config_list[@]}"; do
      echo "train_memory.sh: T=$T config=$cfg ..." >&2
      if line=$("$bin" --T "$T" --config "$cfg" --trainable "$trainable" --model "$model" --threads "$threads"); then
        echo "$line" >> "$out"
        echo "$line" >&2
      else
        echo "train_memory.sh: T=$T config=$cfg failed (exit $?); not recorded" >&2
      fi
    done
  done
fi

python3 - "$out" "$budget" "$model" "$trainable" "$fit_min_t" <<'PY'
import json, sys, os
path, budget_gib, model, trainable = sys.argv[1], float(sys.argv[2]), os.path.basename(sys.argv[3]), sys.argv[4]
fit_min_t = int(sys.argv[5])
budget = budget_gib * 2**30
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if r.get("model") == model and r.get("trainable") == trainable and r["T"] >= fit_min_t]
if not rows:
    sys.exit(f"train_memory.sh: no lines for {model} / {trainable} in {path}")
order = ["plain", "mst", "ckpt", "ckpt:1", "mst+ckpt", "mst+ckpt:1"]
by = {}
for r in rows:
    by.setdefault(r["config"], {})[r["T"]] = r  # a later line for the same (config, T) wins
GiB, MiB = 2**30, 2**20
params = rows[0]["trainable_params"]
adamw = 8 * params
if not all(r.get("peak_reset") for r in rows):
    print("warning: clear_refs was refused in some runs: their peaks include the load (see hwm_* fields)")
print(f"{model}, trainable {trainable} ({params} values), threads {rows[0]['threads']}; budget {budget_gib:g} GiB")
print("No optimiser step runs (AdamW m/v never allocated): peak = weights + grads + activations.")
print(f"AdamW-included budget: the same minus m/v = 8 B x {params} = {adamw / GiB:.2f} GiB.\n")

fits = {}
for cfg in [c for c in order if c in by] + [c for c in by if c not in order]:
    pts = sorted(by[cfg].items())
    print(f"{cfg}:")
    print(f"  {'T':>7} {'peak':>10} {'before':>10} {'saved':>10} {'estimate':>10} {'seconds':>9} {'tok/s':>8}")
    for T, r in pts:
        print(f"  {T:>7} {r['peak_rss_bytes']/MiB:>8.1f}Mi {r['rss_before_bytes']/MiB:>8.1f}Mi "
              f"{r['saved_bytes']/MiB:>8.1f}Mi {r['estimate_activation_bytes']/MiB:>8.1f}Mi "
              f"{r['seconds']:>9.2f} {r['tokens_per_s']:>8.1f}")
    Ts = [T for T, _ in pts]
    if len(set(Ts)) < 2:
        print("  (one T only: no fit)")
        continue
    ys = [r["peak_rss_bytes"] for _, r in pts]
    n = len(Ts); mt = sum(Ts) / n; my = sum(ys) / n
    b = sum((t - mt) * (y - my) for t, y in zip(Ts, ys)) / sum((t - mt) ** 2 for t in Ts)
    a = my - b * mt
    resid = max(abs(y - (a + b * t)) for t, y in zip(Ts, ys))
    tmax = (budget - a) / b if b > 0 else float("inf")
    tmax_adamw = (budget - adamw - a) / b if b > 0 else float("inf")
    fits[cfg] = dict(a_bytes=a, b_bytes_per_token=b, max_residual_bytes=resid, t_max=tmax, t_max_adamw=tmax_adamw,
                     measured_T=Ts, extrapolated=tmax > max(Ts))
    print(f"  fit: peak = {a/GiB:.3f} GiB + {b/1024:.1f} KiB x T (max residual {resid/MiB:.1f} MiB)")
    print(f"  longest T in {budget_gib:g} GiB: {tmax:,.0f}{' (extrapolated)' if tmax > max(Ts) else ''}; "
          f"with AdamW state: {tmax_adamw:,.0f}")

print("\nsummary (longest T within the budget; ratio vs plain):")
print(f"  {'config':<9} {'KiB/token':>10} {'T_max':>9} {'ratio':>6} {'T_max+AdamW':>12} {'ratio':>6}  throughput vs plain")
base = fits.get("plain")
summary = {"model": model, "trainable": trainable, "budget_gib": budget_gib, "adamw_state_bytes": adamw, "configs": {}}
for cfg, f in fits.items():
    ratio = f["t_max"] / base["t_max"] if base else float("nan")
    ratio_a = f["t_max_adamw"] / base["t_max_adamw"] if base and base["t_max_adamw"] > 0 else float("nan")
    cost = []
    for T, r in sorted(by[cfg].items()):
        if "plain" in by and T in by["plain"]:
            cost.append(f"T={T}: {r['tokens_per_s'] / by['plain'][T]['tokens_per_s']:.2f}x")
    f.update(ratio_vs_plain=ratio, ratio_vs_plain_adamw=ratio_a)
    summary["configs"][cfg] = f
    print(f"  {cfg:<9} {f['b_bytes_per_token']/1024:>10.1f} {f['t_max']:>9,.0f} {ratio:>6.2f} "
          f"{f['t_max_adamw']:>12,.0f} {ratio_a:>6.2f}  {', '.join(cost)}")
fit_path = os.path.splitext(path)[0] + ".fit.json"
with open(fit_path, "w") as fh:
    json.dump(summary, fh, indent=1)
print(f"\nlines: {path}; fit: {fit_path}")
PY
