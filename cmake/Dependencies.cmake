# Finds the Debian-packaged dependencies; nothing is downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# OpenBLAS (cblas interface).
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)

# Highway SIMD.
find_package(hwy CONFIG REQUIRED)

# PCRE2 with 8-bit code units (UTF-8 input).
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)

find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)

if(LM_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(LM_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
