# Memory bank tests (LongMem chunk store): core behaviour, the exact search kernel on every SIMD target, the bank
# file, faiss recall (skipped without faiss), the ivf-int8 index and its kernels, and retrieval-query centring.
lm_add_test(memory_bank_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/memory_bank_test.cc ${CMAKE_CURRENT_LIST_DIR}/exact_search_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/memory_bank_file_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/memory_bank_faiss_test.cc ${CMAKE_CURRENT_LIST_DIR}/query_centring_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/ivf_int8_test.cc
  DEPS lm_memory_bank LABELS unit)
target_link_libraries(memory_bank_test PRIVATE hwy::hwy)
