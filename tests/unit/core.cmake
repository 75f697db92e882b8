# Core tests: Status/Result, tensors, thread pool.
lm_add_test(core_test SOURCES core_test.cc DEPS lm_core LABELS unit)
