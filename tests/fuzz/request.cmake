# Fuzz target of the agent socket's request handler (issue 9), included by tests/fuzz/CMakeLists.txt.
# Run: scripts/fuzz request_fuzz (clang-19; seeds in tests/fuzz/corpus/request_fuzz). The handler is
# compiled in directly: it needs only the event format and nlohmann-json, not the whole agent.
if(CRONITOR_FUZZ)
  add_executable(request_fuzz ${CMAKE_CURRENT_LIST_DIR}/request_fuzz.cpp ${PROJECT_SOURCE_DIR}/agent/control/request_handler.cpp)
  target_include_directories(request_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(request_fuzz PRIVATE cronitor_event_decode nlohmann_json::nlohmann_json)
  target_compile_options(request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
