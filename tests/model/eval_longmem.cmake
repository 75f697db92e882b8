# LongMem evaluation tooling: buckets, bootstrap, charts and ICL prompts (pure), and on tiny random models
# the eval-ppl systems agreeing where they must and the ICL loop end to end.
lm_add_test(eval_longmem_stats_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/eval_longmem_stats_test.cc
            DEPS lm_eval_longmem LABELS unit)
lm_add_test(eval_longmem_model_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/eval_longmem_model_test.cc
            DEPS lm_eval_longmem LABELS model)
