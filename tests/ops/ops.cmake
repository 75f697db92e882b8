# Op tests: each CPU op against a plain reference or a mathematical identity.
lm_add_test(ops_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/ops_test.cc ${CMAKE_CURRENT_LIST_DIR}/attention_test.cc
            DEPS lm_ops LABELS ops)
