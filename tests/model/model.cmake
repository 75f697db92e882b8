# Model tests on tiny synthetic models (fast, no download).
lm_add_test(model_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/model_test.cc DEPS lm_runtime LABELS model)
lm_add_test(hf_safetensors_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/hf_safetensors_test.cc DEPS lm_runtime LABELS model)
