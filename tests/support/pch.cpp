// The object that carries the test programs' precompiled header (tests/CMakeLists.txt): the
// header is built with this target's flags and reused by each test program. Nothing else.
