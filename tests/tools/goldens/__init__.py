"""Golden-file generators for longmem's C++ tests (driven by tests/tools/gen_goldens.py).

Each module exposes `generate(out_dir, ...)` and writes files into tests/data/goldens/; the C++
tests only read those files. Modules: model (HF transformers forward/greedy/perplexity), quant
(block (de)quantisation), tokenizer (tokenization goldens), common (provenance and file helpers).
"""
