# KV cache element type: f16 cache logits stay close to the f32 cache's on a tiny model.
lm_add_test(kv_type_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/kv_type_test.cc DEPS lm_runtime LABELS model)
