# CUDA op tests: compare GPU kernels with CPU references; they skip without a CUDA build or device.
lm_add_test(cuda_rms_norm_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_rms_norm_test.cc DEPS lm_backend LABELS cuda)
# Report GTEST_SKIP as "skipped" in ctest rather than "passed".
set_tests_properties(cuda_rms_norm_test PROPERTIES SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
