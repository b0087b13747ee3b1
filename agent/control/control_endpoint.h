// The agent socket on the daemon's loop: accepts wrappers and the command-line tools, tells
// them apart by SO_PEERCRED, bounds what each may hold (connections per uid, the table's size
// within the descriptor limit, a read deadline, one line of kMaxLineBytes, common/event.h) and sends the
// replies. What a line means is the handler's (the daemon judges it with RequestHandler): this
// class only frames lines and carries replies, so tests drive it on a temporary socket.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/control/request_handler.h"
#include "common/error.h"
#include "common/event.h"
#include "common/event_source.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

class ControlEndpoint {
 public:
  /// A connection, as long as it is open: its descriptor.
  using ConnId = int;

  /// What the daemon does with a line.
  class Handler {
   public:
    virtual ~Handler() = default;
    /// One whole line of `peer` (its '\n' included). Returns the reply to send now, or nullopt when
    /// the reply follows later through reply(`conn`, ...) (an event is acknowledged once durable);
    /// until then the connection is not timed out. The handler may call reply() from here.
    virtual std::optional<std::string> on_line(ConnId conn, const Peer& peer, std::string_view line) = 0;
  };

  struct Options {
    // Connections that have not sent their line yet, per uid: one user can hold a quarter of the
    // table at most, so it takes four to crowd out the rest. Closing more of them sooner would
    // only make an attacker reconnect in a loop, which costs everyone CPU. Root is not limited.
    size_t max_waiting_per_uid = 1024;
    // A client has 1 to 2 s to send its line (wrappers wait 1 s at most). The spread keeps idle
    // connections from expiring, and their owner reconnecting, all in one burst.
    uint64_t read_timeout_usec = 2000000;
    uint64_t read_timeout_spread_usec = 1000000;
    // The connection table's size; 0: 4 x max_waiting_per_uid within the descriptor limit.
    size_t max_conns = 0;
  };

  /// Binds `path` (a stale socket there is removed; the new one is mode 0666: every user's jobs
  /// report here) and listens on `ev`.
  [[nodiscard]] static Result<std::unique_ptr<ControlEndpoint>> listen(sd_event* ev, std::string path, Handler& handler,
                                                                       Options options);
  [[nodiscard]] static Result<std::unique_ptr<ControlEndpoint>> listen(sd_event* ev, std::string path,
                                                                       Handler& handler) {
    return listen(ev, std::move(path), handler, Options{});
  }
  /// Closes every connection and the socket, and removes the socket file.
  ~ControlEndpoint();
  ControlEndpoint(const ControlEndpoint&) = delete;
  ControlEndpoint& operator=(const ControlEndpoint&) = delete;

  /// Sends `text` to `conn` and closes it (once the peer took it); nothing when it is gone.
  void reply(ConnId conn, std::string text);
  /// Open connections.
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    UniqueFd fd;
    uid_t uid = 0;
    pid_t pid = 0;
    std::string in;
    std::string out;
    uint64_t opened_usec = 0;  // CLOCK_MONOTONIC; its read deadline counts from here
    EventSource src;
    bool closing = false;
    bool counted = false;   // in waiting_of_uid_: waits for its line
    bool awaiting = false;  // its line is the handler's; the reply follows (no read deadline)
  };

  ControlEndpoint(sd_event* ev, std::string path, Handler& handler, Options options);
  [[nodiscard]] Result<void> bind_and_listen();
  void on_accept();
  void accept_one(UniqueFd conn);
  void on_io(Conn& c, uint32_t revents);
  void send_reply(Conn& c, std::string text);
  void uncount(Conn& c);
  void close_conn(ConnId fd);
  void sweep();
  static int on_listen_cb(sd_event_source*, int, uint32_t, void*);
  static int on_conn_cb(sd_event_source*, int, uint32_t, void*);
  static int on_sweep_cb(sd_event_source*, uint64_t, void*);

  sd_event* ev_;
  std::string path_;
  Handler& handler_;
  Options options_;
  UniqueFd listen_fd_;
  UniqueFd reserve_fd_;  // given up to accept and close a connection when out of descriptors
  EventSource listen_src_;
  EventSource sweep_src_;  // closes the connections past their read deadline
  std::map<ConnId, std::unique_ptr<Conn>> conns_;
  std::unordered_map<uid_t, size_t> waiting_of_uid_;  // connections per peer uid waiting for their line
  uint32_t seq_ = 0;                                  // spreads the read deadlines
};

}  // namespace cronitor::agent
