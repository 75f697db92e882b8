# LongMem memory attention and gate mix: reference and finite-difference tests (lm_train).
lm_add_test(memory_attention_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/memory_attention_test.cc DEPS lm_train LABELS ops)
