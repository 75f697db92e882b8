# Training ops: finite-difference checks of every backward pass (lm_train).
lm_add_test(train_ops_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_ops_test.cc
            ${CMAKE_CURRENT_LIST_DIR}/train_attention_test.cc ${CMAKE_CURRENT_LIST_DIR}/softmax_row_test.cc
            DEPS lm_train LABELS ops)
target_link_libraries(train_ops_test PRIVATE hwy::hwy)
