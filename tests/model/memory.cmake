# Long-context memory strategies: selection policy on synthetic scores, strategies on tiny models, factory.
lm_add_test(memory_selection_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/memory_selection_test.cc DEPS lm_memory LABELS unit)
lm_add_test(memory_block_selection_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/memory_block_selection_test.cc DEPS lm_memory LABELS unit)
lm_add_test(memory_strategies_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/memory_strategies_test.cc
            DEPS lm_runtime lm_memory_factory LABELS model)
lm_add_test(niah_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/niah_test.cc DEPS lm_eval lm_io LABELS model)
lm_add_test(perplexity_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/perplexity_test.cc DEPS lm_eval LABELS model)
