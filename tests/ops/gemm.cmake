# CPU product kernels (backend/cpu/gemm.h) vs their references, and ops::MatMul's dispatch.
lm_add_test(gemm_kernels_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/gemm_kernels_test.cc DEPS lm_ops LABELS ops)
target_link_libraries(gemm_kernels_test PRIVATE hwy::hwy)
