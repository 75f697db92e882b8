# Training golden: whole-model gradients of the default model vs PyTorch (tests/tools/goldens/grads.py).
lm_add_test(train_golden_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_golden_test.cc DEPS lm_train LABELS golden)
