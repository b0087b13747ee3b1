// The kernel's process events connector (netlink NETLINK_CONNECTOR, group CN_IDX_PROC): fork, exec,
// uid change and exit (with the exit status) of every process of the host, as root
// (CAP_NET_ADMIN), in the host's pid and user namespace only. The decoding is a pure function over
// the bytes of one datagram; ProcConnector owns the socket.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "schedule/zone.h"

namespace cronitor::agent {

/// One process event as the kernel sent it. Only the fields of its kind are set.
struct ProcEvent {
  enum class Kind : uint8_t { ack, fork, exec, uid, exit };
  Kind kind = Kind::ack;
  uint64_t timestamp_ns = 0;              // the kernel's ktime_get_ns(): CLOCK_MONOTONIC, not wall time
  pid_t pid = 0, tgid = 0;                // the process (fork: the child); pid != tgid is a thread
  pid_t parent_pid = 0, parent_tgid = 0;  // fork: the parent; exit: the parent (0 on old kernels)
  uint32_t exit_code = 0;                 // exit: the raw wait status (WIFEXITED, WEXITSTATUS, WTERMSIG apply)
  uint32_t exit_signal = 0;               // exit: the signal the parent is sent (SIGCHLD), not a killing signal
  uint32_t ruid = 0, euid = 0;            // uid change
  uint32_t ack_err = 0;                   // ack of a (un)subscription: 0 or an errno (EPERM)
};

/// What one datagram held besides events.
struct ProcDecodeStats {
  size_t events = 0;
  size_t malformed = 0;  // a length that does not fit, a truncated event, a netlink error
  size_t ignored = 0;    // another connector, or an event kind the agent does not use (sid, comm, ...)
};

/// Decodes every netlink message of one datagram read from the connector, appending its process
/// events to `out`. Every length is checked against the bytes at hand; nothing is read past them.
ProcDecodeStats decode_proc_datagram(std::span<const std::byte> datagram, std::vector<ProcEvent>& out);

/// Builds the datagram the kernel sends for `e` (tests and benchmarks feed it to the decoder).
std::vector<std::byte> encode_proc_datagram(const ProcEvent& e);

/// An open, subscribed connector socket. Closing it unsubscribes (PROC_CN_MCAST_IGNORE) first: the
/// kernel counts listeners and keeps building events for every process while any is left.
class ProcConnector {
 public:
  struct Options {
    int receive_buffer = 4 << 20;  // SO_RCVBUFFORCE bytes: room for a burst before ENOBUFS
    int ack_timeout_ms = 1000;     // the kernel answers a subscription at once, or never (namespaces)
    bool kernel_filter = true;     // drop in the kernel what no run needs (see attach_filter)
  };
  /// Opens the socket (non-blocking, close-on-exec), joins the group and subscribes, then waits for
  /// the kernel's ack. Fails naming the call: EPERM without CAP_NET_ADMIN, no answer in another pid
  /// or user namespace than the host's (the kernel stays silent there).
  [[nodiscard]] static Result<ProcConnector> open(Options options);
  [[nodiscard]] static Result<ProcConnector> open() { return open(Options{}); }
  ProcConnector(ProcConnector&& o) noexcept;
  ProcConnector& operator=(ProcConnector&& o) noexcept;
  ProcConnector(const ProcConnector&) = delete;
  ProcConnector& operator=(const ProcConnector&) = delete;
  ~ProcConnector();

  int fd() const { return fd_.get(); }

  /// What one drain saw.
  struct Drained {
    size_t datagrams = 0;
    size_t events = 0;
    size_t losses = 0;     // ENOBUFS: the kernel dropped events (how many it does not say)
    size_t foreign = 0;    // datagrams not sent by the kernel (a local process can unicast to us)
    size_t malformed = 0;  // truncated or inconsistent datagrams and messages
    size_t ignored = 0;
    bool more = false;  // stopped at `max_datagrams`: call again
  };
  /// Reads every datagram available now (at most `max_datagrams`), each event given to `on_event`.
  /// Errors other than EAGAIN, EINTR and ENOBUFS end the drain with an error naming recvmmsg().
  [[nodiscard]] Result<Drained> drain(const std::function<void(const ProcEvent&)>& on_event,
                                      size_t max_datagrams = 4096);

 private:
  explicit ProcConnector(UniqueFd fd) : fd_(std::move(fd)) {}
  void stop_listening();  // PROC_CN_MCAST_IGNORE, before the socket closes
  UniqueFd fd_;
};

/// The wall-clock time of a kernel event timestamp (CLOCK_MONOTONIC ns), by the offset between the
/// two clocks now: right to microseconds for events read promptly, and a wall clock set while a
/// run goes on does not change its duration (durations come from the timestamps themselves).
schedule::Instant wall_time_of(uint64_t timestamp_ns);

/// What a process is right after its exec, read from /proc (agent/sources/host_facts.h).
struct ExecFacts {
  uid_t uid = 0;
  std::vector<std::string> argv;
  uint64_t start_ticks = 0;  // /proc/PID/stat's start: tells a reused pid from the process we knew
};

/// ExecFacts of `pid` now; nullopt when it is gone or already a zombie (its argv is gone with it).
std::optional<ExecFacts> read_exec_facts(pid_t pid);

/// Whether `pid` is still the live process that started at `start_ticks` (0: any live process).
bool process_still_alive(pid_t pid, uint64_t start_ticks);

}  // namespace cronitor::agent
