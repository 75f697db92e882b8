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

# faiss (optional, Debian libfaiss-dev): the memory bank's approximate IVF/HNSW indexes. LM_HAVE_FAISS says
# whether it was found; without it the bank offers exact search only. Debian's config file neither finds the
# OpenMP it links nor names OpenBLAS (it links the libblas/liblapack alternatives, a second OpenBLAS copy
# with its own thread pool), so OpenMP is found here and faiss is pointed at the one OpenBLAS the project
# uses (Debian's libopenblas carries LAPACK too), whose thread count longmem controls.
option(LM_FAISS "Use faiss for the memory bank's approximate indexes when it is installed" ON)
set(LM_HAVE_FAISS OFF)
if(LM_FAISS)
  find_package(OpenMP COMPONENTS CXX QUIET)
  if(OpenMP_CXX_FOUND)
    find_package(faiss CONFIG QUIET)
  endif()
  if(TARGET faiss)
    set_property(TARGET faiss PROPERTY INTERFACE_LINK_LIBRARIES "$<LINK_ONLY:OpenMP::OpenMP_CXX>;PkgConfig::OPENBLAS")
    set(LM_HAVE_FAISS ON)
  endif()
endif()
message(STATUS "longmem: faiss for the memory bank: ${LM_HAVE_FAISS}")
