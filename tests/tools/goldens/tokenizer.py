"""Tokenizer goldens: SmolLM2 ids/decodes/chat renderings from HF, pre-tokenizer splits, a tiny SentencePiece model.

Reference implementations are Hugging Face `transformers`/`tokenizers` and Google's `sentencepiece`, never longmem.
Run directly: /work/venv-goldens/bin/python tests/tools/goldens/tokenizer.py [out_dir] [model.gguf]
"""
from __future__ import annotations

import json
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[3]

# Strings chosen to stress pre-tokenizer regexes, byte fallback and special-token splitting.
_PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It's 3:45pm on 2024-05-17, and we've got 1,234,567.89 "
    "reasons to test tokenizers properly!  Don't they'll won't I'm you're we'd. \"Quoted\" (parenthesised) "
    "[bracketed] {braced} <angled> -- dashes --- and ellipses... Naïve café résumé coöperate über Straße. "
)
HARD_STRINGS = [
    "",
    " ",
    "Hello world",
    "hello 12345 world",
    "The year 2024 had 366 days; pi is 3.14159265358979.",
    "1234567890123456789012345678901234567890",
    "x² + y³ = z½ and ①②③ and ٣٤٥ and १२३",
    "Naïve café, résumé, coöperate, façade, jalapeño, Ångström",
    "Straße GROSS İstanbul ǅemal ﬁnance",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 텍스트입니다",
    "مرحبا بالعالم، هذا اختبار.",
    "नमस्ते दुनिया, यह एक परीक्षण है।",
    "Привет, мир! Ёжик в тумане.",
    "Emoji: 😀😃😄 👍🏽 🇺🇸 🇯🇵",
    "Family: 👨‍👩‍👧‍👦 and 🏳️‍🌈 and 👩🏾‍💻 done",
    "Tabs\tand\ttabs\t\tdouble",
    "Lines\nand\r\nwindows\n\n\nmany",
    "   leading spaces",
    "trailing spaces   ",
    "multiple     internal      spaces",
    " \t \n mixed \u00a0nbsp\u3000ideographic\u2009thin\u0085nel\u180emvs\u200bzwsp",
    "def foo(x):\n    return x**2 + 1  # comment\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "<html><body class=\"main\">Hi &amp; bye</body></html>",
    "SELECT * FROM users WHERE id=42 AND name LIKE '%bob%';",
    "I'm you're he's we've they'll she'd it's CAN'T WON'T I'M",
    "don't 'quoted' ''double'' '''",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more<|endoftext|>",
    "<|im_start|<|im_end|><|im_start|>>",
    "<repo_name>longmem<file_sep>main.cc",
    "!!!??? ... ,,, ;;; ::: ---",
    "$100 €200 £300 ¥400 ₹500",
    "a1b2c3 A1B2C3 x=1e-9",
    "URL: https://example.com/path?q=1&r=two#frag",
    "\u0000\u0001\u001f control \u007f chars",
    "Combining: e\u0301 a\u0308 n\u0303 and ZWJ\u200dJoin",
    _PARAGRAPH * 9,  # about 3 KB
]


def _versions() -> dict:
    import sentencepiece
    import tokenizers
    import transformers
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentencepiece": sentencepiece.__version__}


def _smollm2(out_dir: pathlib.Path, model_path: pathlib.Path) -> None:
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    # SmolLM2's own tokenizer.json isolates digits before the byte-level regex (llama.cpp's "smollm" pre);
    # transformers' GGUF loader leaves the Digits step out. Encode with both and insist they agree, so
    # the goldens are right for the real model and for HF-from-GGUF alike.
    real = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    real.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    cases, notes = [], []
    for text in HARD_STRINGS:
        ids = tok.encode(text, add_special_tokens=True)
        ids_real = real.encode(text, add_special_tokens=True)
        if ids != ids_real:
            notes.append({"text": text, "hf_from_gguf_ids": ids,
                          "why": "transformers' GGUF loader omits SmolLM2's Digits pre-tokenizer"})
        plain = real(text, add_special_tokens=True, split_special_tokens=True)["input_ids"]
        cases.append({
            "text": text,
            "ids": ids_real,
            "ids_no_special": plain,  # parse_special = false: control tokens spelled out as text
            "decoded": real.decode(ids_real, clean_up_tokenization_spaces=False),
            "decoded_skip_special": real.decode(ids_real, skip_special_tokens=True,
                                                clean_up_tokenization_spaces=False),
        })
    conversations = {
        "no_system": [{"role": "user", "content": "Hello! How are you?"}],
        "with_system": [{"role": "system", "content": "You are a pirate."},
                        {"role": "user", "content": "Where is the treasure?"}],
        "multi_turn": [{"role": "user", "content": "What is 2+2?"},
                       {"role": "assistant", "content": "4"},
                       {"role": "user", "content": " And 3+3? \n"}],
    }
    chats = []
    for name, messages in conversations.items():
        for gen in (False, True):
            chats.append({"name": name, "messages": messages, "add_generation_prompt": gen,
                          "text": tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)})
    doc = {
        "_generated_by": "tests/tools/goldens/tokenizer.py", "versions": _versions(),
        "model": model_path.name, "add_bos": bool(getattr(tok, "add_bos_token", False)),
        "bos_id": tok.bos_token_id, "eos_id": tok.eos_token_id,
        "chat_template": tok.chat_template, "cases": cases, "chats": chats, "notes": notes,
    }
    _write(out_dir / "tokenizer_smollm2.json", doc)


_SPLITS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


def _pretokenizer(family: str):
    """The pre_tokenizer each family's published tokenizer.json configures."""
    from tokenizers import Regex, pre_tokenizers as pt
    if family == "gpt-2":
        return pt.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if family == "smollm":
        return pt.Sequence([pt.Digits(individual_digits=True),
                            pt.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    return pt.Sequence([pt.Split(Regex(_SPLITS[family]), behavior="isolated", invert=False),
                        pt.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])


def _pretok_splits(out_dir: pathlib.Path) -> None:
    families = {}
    for family in ("gpt-2", "smollm", "llama-bpe", "qwen2"):
        pre = _pretokenizer(family)
        # Pieces are in GPT-2's byte alphabet, exactly as HF hands them to the BPE model.
        families[family] = [[p for p, _ in pre.pre_tokenize_str(s)] for s in HARD_STRINGS[:-1]]
    doc = {"_generated_by": "tests/tools/goldens/tokenizer.py", "versions": _versions(),
           "texts": HARD_STRINGS[:-1], "families": families}
    _write(out_dir / "tokenizer_pretok.json", doc)


_SPM_CORPUS = """Once upon a time there was a little robot who lived in a quiet town by the sea.
Every morning the robot walked to the harbour, counted the boats, and wrote the numbers in a notebook.
The fishermen laughed, but the robot said: "Numbers tell stories, if you listen carefully."
One day a storm came. The boats did not return, and the town was worried.
The robot read its notebook, remembered the winds and the tides, and guided the boats home with a lantern.
After that, everyone in town wanted to learn how to count, read, and write.
They built a school near the lighthouse, and the robot became the teacher.
Children asked questions about stars, about waves, about machines and about themselves.
The robot answered what it could and said "I don't know yet" when it could not.
Tokenizers split text into pieces; byte fallback handles characters the vocabulary has never seen.
"""


def _spm_tiny(out_dir: pathlib.Path) -> None:
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "corpus.txt"
        corpus.write_text(_SPM_CORPUS * 20 + _PARAGRAPH * 10, encoding="utf-8")
        prefix = str(pathlib.Path(tmp) / "tiny")
        # Llama-2's normaliser settings: identity rules, keep whitespace runs, dummy prefix on.
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=prefix, model_type="bpe", vocab_size=500, byte_fallback=True,
            character_coverage=1.0, normalization_rule_name="identity", remove_extra_whitespaces=False,
            add_dummy_prefix=True, split_digits=True, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
            num_threads=1, minloglevel=2)
        model_bytes = pathlib.Path(prefix + ".model").read_bytes()
    proto = pb.ModelProto()
    proto.ParseFromString(model_bytes)
    # SentencePiece piece types -> GGUF token_type (1 normal, 2 unknown, 3 control, 4 user, 5 unused, 6 byte).
    type_map = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6}
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    cases = [{"text": s, "ids": sp.encode(s), "decoded": sp.decode(sp.encode(s))} for s in HARD_STRINGS]
    doc = {
        "_generated_by": "tests/tools/goldens/tokenizer.py", "versions": _versions(),
        "tokens": [p.piece for p in proto.pieces], "scores": [p.score for p in proto.pieces],
        "types": [type_map[p.type] for p in proto.pieces],
        "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "unk_id": sp.unk_id(),
        "add_space_prefix": proto.normalizer_spec.add_dummy_prefix, "cases": cases,
    }
    _write(out_dir / "tokenizer_spm_tiny.json", doc)


def _write(path: pathlib.Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=True, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def generate(out_dir: pathlib.Path, model_path: pathlib.Path) -> None:
    _smollm2(out_dir, model_path)
    _pretok_splits(out_dir)
    _spm_tiny(out_dir)


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests/data/goldens"
    model = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "models/smollm2-135m-instruct-q4_1.gguf"
    generate(out, model)
