# Backend unit tests: CPU device query, sgemm wrappers, and the CUDA stub's error when CUDA is not built.
lm_add_test(backend_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/backend_test.cc DEPS lm_backend LABELS unit)
