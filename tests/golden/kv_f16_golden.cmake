# The default model with an f16 KV cache against the Hugging Face goldens (f32 reference).
lm_add_test(kv_f16_golden_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/kv_f16_golden_test.cc DEPS lm_runtime LABELS golden)
