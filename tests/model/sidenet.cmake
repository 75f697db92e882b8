# LongMem SideNet on tiny synthetic backbones: spec algebra against a double reference, gate, gradients, files.
lm_add_test(sidenet_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/sidenet_test.cc DEPS lm_sidenet LABELS model)
lm_add_test(sidenet_trainer_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/sidenet_trainer_test.cc DEPS lm_sidenet
            LABELS model)
