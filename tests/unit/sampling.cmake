# Sampling unit tests: greedy, determinism, distribution, filters, penalty, validation.
lm_add_test(sampling_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/sampling_test.cc DEPS lm_sampling LABELS unit)
