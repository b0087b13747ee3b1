# Fuzz target of the run event format (issue 4), included by tests/fuzz/CMakeLists.txt.
# Run: scripts/fuzz event_fuzz (clang-19; seeds in tests/fuzz/event_corpus). Tried here: 614k runs
# in 60 s through scripts/fuzz, and 1.47 million runs in 120 s with max_len 70000; no finding.
if(CRONITOR_FUZZ)
  add_executable(event_fuzz ${CMAKE_CURRENT_LIST_DIR}/event_fuzz.cpp)
  target_link_libraries(event_fuzz PRIVATE cronitor_event_decode)
  target_compile_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(event_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  # Differential (issue 20): decode (simdjson, nlohmann's SAX parser for what simdjson refuses)
  # against the DOM decoder it replaced, kept in tests/common.
  # Seeds: corpus/event_diff_fuzz, a link to event_corpus.
  add_executable(event_diff_fuzz ${CMAKE_CURRENT_LIST_DIR}/event_diff_fuzz.cpp)
  target_include_directories(event_diff_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(event_diff_fuzz PRIVATE cronitor_event_decode nlohmann_json::nlohmann_json)
  target_compile_options(event_diff_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(event_diff_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
