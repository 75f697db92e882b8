# `longmem quantize`: GGUF type conversion is exact per tensor, keeps metadata, and the result runs.
lm_add_test(requantize_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/requantize_test.cc DEPS lm_runtime LABELS model)
