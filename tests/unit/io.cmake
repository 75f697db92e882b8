# io tests: mmap, GGUF (round trips, bad input, the real default model), safetensors; quant goldens for core.
lm_add_test(io_mmap_test SOURCES io_mmap_test.cc DEPS lm_io LABELS unit)
lm_add_test(io_gguf_test SOURCES io_gguf_test.cc io_gguf_bad_test.cc DEPS lm_io LABELS unit)
lm_add_test(io_gguf_model_test SOURCES io_gguf_model_test.cc DEPS lm_io LABELS unit)
lm_add_test(io_safetensors_test SOURCES io_safetensors_test.cc DEPS lm_io LABELS unit)
lm_add_test(quant_test SOURCES quant_test.cc DEPS lm_core nlohmann_json::nlohmann_json LABELS unit)
