# Training on tiny synthetic models: model gradients, MST/checkpointing equivalence, trainable sets.
lm_add_test(train_model_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_model_test.cc DEPS lm_train LABELS model)
lm_add_test(train_checkpoint_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_checkpoint_test.cc DEPS lm_train
            LABELS model)
# SIGKILL crash-safety test: runs the `longmem` binary (needs the default model for its tokenizer).
lm_add_test(train_kill_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_kill_test.cc DEPS lm_train LABELS model)
target_compile_definitions(train_kill_test PRIVATE LM_CLI_BINARY="$<TARGET_FILE:longmem>")
add_dependencies(train_kill_test longmem)
