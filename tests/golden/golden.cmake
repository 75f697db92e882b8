# Golden tests: the real default model against committed Hugging Face references.
lm_add_test(model_golden_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/model_golden_test.cc DEPS lm_runtime LABELS golden)
lm_add_test(ppl_golden_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/ppl_golden_test.cc DEPS lm_eval LABELS golden)
