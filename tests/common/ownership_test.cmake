# common.ownership: the product's file descriptors, sd-event sources and the handles of the C
# libraries it uses are released by their owners, common/unique_fd.h (UniqueFd),
# common/event_source.h (EventSource) and common/owned.h (Owned<T, release>), and nowhere else: a
# close(), an sd_event_source_unref(), a closedir(), an sd_bus_slot_unref() or a
# curl_easy_cleanup() in any other file is a hand-kept teardown that an early return or a
# reordered destructor can skip or run twice. Fails naming each file and line.
# Run: cmake -DROOT=<source tree> -P tests/common/ownership_test.cmake (ctest does). CMake alone,
# so it runs wherever the build does.
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P ownership_test.cmake")
endif()

# The owners themselves, and the calls that are not a teardown (each with its reason): "FILE:LINE'S
# CODE" without its semicolons.
set(owners "common/unique_fd.h" "common/event_source.h" "common/owned.h"
  # An sd-bus connection's owner: it leaves the loop before it is flushed, closed and unref'd.
  "agent/sources/bus_handles.h"
  # The shims that load libcurl and libmicrohttpd at run time: they define the release functions.
  "uplink/curl_dl.cpp" "agent/control/mhd_dl.cpp")
set(allowed
  # close()'s own result is the write's last error (NFS, a full disk): checked, so called by hand
  # on the descriptor the UniqueFd gives up.
  "agent/control/textfile_writer.cpp:if (::close(out.release()) != 0) {"
  # The vfork child, before its exec: it shares the wrapper's memory and runs no destructor, so it
  # closes the placeholders of the descriptors 0-2 the job must find closed with plain calls.
  "wrapper/child.cpp:if (was_closed[fd]) close(fd)"
  # Deleters whose library header only their .cpp includes (the class's header declares them).
  "uplink/curl_request.cpp:void CurlRequest::HeadersFree::operator()(curl_slist* list) const { curl_slist_free_all(list) }"
  "agent/control/metrics_http.cpp:void MetricsHttp::MhdStop::operator()(MHD_Daemon* d) const { MHD_stop_daemon(d) }"
)

set(folders agent common discovery schedule uplink wrapper)
# A call of close() on a descriptor (plain or ::close, with an argument: not a member's close()),
# the release of an event source, or of a C library's handle (a call: the name followed by "(";
# an Owned<T, release> names its function without one).
set(release_functions "closedir|fclose|sqlite3_close|sqlite3_close_v2|sqlite3_finalize|sd_bus_unref|sd_bus_close_unref"
  "sd_bus_flush_close_unref|sd_bus_slot_unref|sd_bus_message_unref|sd_journal_close|sd_event_unref"
  "curl_easy_cleanup|curl_multi_cleanup|curl_slist_free_all|MHD_stop_daemon")
string(JOIN "|" release_functions ${release_functions})
set(call_regex "(^|[^A-Za-z0-9_.>:])(::)?close[ \t]*\\([ \t]*[^) \t]|sd_event_source_(disable_)?unref[ \t]*\\(")
string(APPEND call_regex "|(^|[^A-Za-z0-9_.>])(${release_functions})[ \t]*\\(")

set(problems "")
set(checked 0)
foreach(folder IN LISTS folders)
  file(GLOB_RECURSE sources RELATIVE "${ROOT}" "${ROOT}/${folder}/*.h" "${ROOT}/${folder}/*.cpp")
  list(SORT sources)
  foreach(file IN LISTS sources)
    math(EXPR checked "${checked} + 1")
    if(file IN_LIST owners)
      continue()
    endif()
    # Line by line, with the characters a CMake list would split on or group by stood in for.
    file(READ "${ROOT}/${file}" text)
    string(REPLACE ";" "<semicolon>" text "${text}")
    string(REPLACE "[" "<open>" text "${text}")
    string(REPLACE "]" "<close>" text "${text}")
    string(REPLACE "\\" "<backslash>" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(number 0)
    foreach(line IN LISTS lines)
      math(EXPR number "${number} + 1")
      string(REPLACE "<semicolon>" ";" line "${line}")
      string(REPLACE "<open>" "[" line "${line}")
      string(REPLACE "<close>" "]" line "${line}")
      string(REPLACE "<backslash>" "\\" line "${line}")
      string(REGEX REPLACE "//.*" "" code "${line}")
      if(NOT code MATCHES "${call_regex}")
        continue()
      endif()
      string(STRIP "${code}" stripped)
      string(REPLACE ";" "" bare "${stripped}")  # the allowed list is a CMake list: no ";" in it
      if("${file}:${bare}" IN_LIST allowed)
        continue()
      endif()
      string(APPEND problems "${file}:${number}: releases by hand: ${stripped}\n")
    endforeach()
  endforeach()
endforeach()

if(checked LESS 100)
  message(FATAL_ERROR "ownership: only ${checked} files found under ${ROOT}: wrong ROOT?")
endif()
if(problems)
  message(FATAL_ERROR "ownership: hold it in a UniqueFd, an EventSource or an Owned (or add the call, "
                      "with its reason, to tests/common/ownership_test.cmake's allowed list):\n${problems}")
endif()
message(STATUS "ownership: ${checked} files, every descriptor, event source and library handle released by its owner")
