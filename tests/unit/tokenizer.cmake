# Tokenizer tests: HF goldens for SmolLM2 (real GGUF), pre-tokenizer splits, a tiny SentencePiece model,
# vocabulary loading errors and chat templates.
foreach(_t smollm2 pretok spm vocab chat)
  lm_add_test(tokenizer_${_t}_test SOURCES tokenizer_${_t}_test.cc
              DEPS lm_tokenizer lm_io nlohmann_json::nlohmann_json LABELS unit)
endforeach()
