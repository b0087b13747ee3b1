# Fuzz target of the run event format (issue 4), included by tests/fuzz/CMakeLists.txt.
# Run: scripts/fuzz event_fuzz (clang-19; seeds in tests/fuzz/event_corpus). Tried here:
# clang-19 through scripts/fuzz, 614k runs in 60 s; clang-16 by hand, 1.47 million runs in
# 120 s (with max_len 70000); no finding. libstdc++ 12 hides std::expected from clang < 19
# (__cpp_concepts 201907), so for clang 16-18 the macro is raised for this target only.
if(CRONITOR_FUZZ)
  add_executable(event_fuzz ${CMAKE_CURRENT_LIST_DIR}/event_fuzz.cpp
                            ${PROJECT_SOURCE_DIR}/common/event.cpp
                            ${PROJECT_SOURCE_DIR}/common/event_encode.cpp)
  target_include_directories(event_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(event_fuzz PRIVATE nlohmann_json::nlohmann_json)
  target_compile_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
    target_compile_options(event_fuzz PRIVATE -D__cpp_concepts=202002L
                                              -Wno-builtin-macro-redefined)
  endif()
endif()
