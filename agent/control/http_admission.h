// Who may hold one of the connections of the /metrics and dashboard server (metrics_http.h).
// Local users reach a loopback listener from any of 127.0.0.0/8's 16 million addresses, so a
// limit per address does not bound them: 24 slow connections from 127.0.0.2-4 (one header line
// every 3 s) once kept every honest scrape out for 40 s. Here all of loopback is one source, a
// connection must send its request's headers within a short time of opening (or of its previous
// answer), and when the table is full a newcomer takes the place of the connection that has
// waited longest for its headers (or been slowest to read its answer), unless every candidate is
// too young to judge. An honest client sends its headers at once, so it gets in and is served
// while slow connections are cut. Pure: time is passed in; the server closes what it is told to.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace cronitor::agent {

class HttpAdmission {
 public:
  struct Limits {
    unsigned total = 16;             // connections at once, all sources together
    unsigned per_source = 8;         // from one source (all of loopback is one)
    uint64_t header_us = 2'000'000;  // a request's headers must come within this
    uint64_t young_us = 250'000;     // a connection younger than this is never evicted
  };
  using Id = uintptr_t;

  explicit HttpAdmission(Limits limits) : limits_(limits) {}

  /// The source a peer counts under: "loopback" for 127.0.0.0/8, ::1 and their IPv4-mapped
  /// forms; an IPv4 address; an IPv6 address's /64 (one host's usual share).
  static std::string source_of(const sockaddr* addr, socklen_t len);

  struct Verdict {
    bool admit = false;
    std::optional<Id> evict;  // close this connection to make room
  };
  /// A new connection from `source` at `now_us`: admitted (maybe in place of another), or not.
  [[nodiscard]] Verdict admit(const std::string& source, uint64_t now_us);
  /// An admitted connection, now known by `id`: it waits for its first request's headers.
  void opened(Id id, const std::string& source, uint64_t now_us);
  /// Its request's headers came: it is being answered.
  void request(Id id, uint64_t now_us);
  /// Its answer was sent: it waits for the next request (keep-alive).
  void completed(Id id, uint64_t now_us);
  void closed(Id id);
  /// Connections whose headers are overdue at `now_us`: to close (each told once).
  [[nodiscard]] std::vector<Id> expired(uint64_t now_us);
  /// When the next one falls due, if any waits.
  [[nodiscard]] std::optional<uint64_t> next_deadline() const;
  size_t open() const { return conns_.size(); }

 private:
  struct Conn {
    std::string source;
    uint64_t since_us = 0;  // waiting for headers since, or being answered since
    bool busy = false;      // being answered
    bool evicted = false;   // told to close; gone once the server closes it
  };
  Limits limits_;
  std::unordered_map<Id, Conn> conns_;
  std::unordered_map<std::string, unsigned> of_source_;  // live (not evicted) connections per source
  unsigned live_ = 0;
  // Admitted and counted, not opened yet (the server names each right after admitting it).
  std::unordered_map<std::string, unsigned> pending_;
};

}  // namespace cronitor::agent
