# Warning flags, sanitizers and the lm_add_library helper shared by every folder.
# -Wno-missing-field-initializers: designated initialisers that omit defaulted members are the convention.
set(LM_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter -Wno-missing-field-initializers)
if(LM_WERROR)
  list(APPEND LM_WARNINGS -Werror)
endif()

if(LM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# lm_add_library(NAME SOURCES... DEPS ...): a static library rooted at src/ with the project's warnings.
function(lm_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${LM_SRC_DIR} ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${LM_WARNINGS}>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
