#include "agent/control/http_admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace cronitor::agent {

std::string HttpAdmission::source_of(const sockaddr* addr, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr == nullptr) return "unknown";
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    in_addr a = reinterpret_cast<const sockaddr_in*>(addr)->sin_addr;
    if ((ntohl(a.s_addr) >> 24) == 127) return "loopback";
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    return text;
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    in6_addr a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return "loopback";
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      in_addr v4;
      std::memcpy(&v4, &a.s6_addr[12], 4);
      if (a.s6_addr[12] == 127) return "loopback";
      ::inet_ntop(AF_INET, &v4, text, sizeof text);
      return text;
    }
    std::memset(&a.s6_addr[8], 0, 8);  // the /64
    ::inet_ntop(AF_INET6, &a, text, sizeof text);
    return std::string(text) + "/64";
  }
  return "unknown";
}

HttpAdmission::Verdict HttpAdmission::admit(const std::string& source, uint64_t now_us) {
  const bool source_full = of_source_[source] >= limits_.per_source;
  auto take = [&] {
    ++live_;
    ++of_source_[source];
    ++pending_[source];
  };
  if (!source_full && live_ < limits_.total) {
    take();
    return {true, std::nullopt};
  }
  // Full: the candidate that has waited longest for its headers, or been answered longest (a
  // slow reader), among the source's own connections when the source is the one that is full.
  std::optional<Id> best;
  uint64_t best_since = 0;
  for (const auto& [id, c] : conns_) {
    if (c.evicted || (source_full && c.source != source)) continue;
    const uint64_t age = now_us > c.since_us ? now_us - c.since_us : 0;
    if (c.busy ? age < limits_.header_us : age < limits_.young_us) continue;
    if (!best || c.since_us < best_since) best = id, best_since = c.since_us;
  }
  if (!best) return {};
  Conn& victim = conns_[*best];
  victim.evicted = true;
  --live_;
  --of_source_[victim.source];
  take();
  return {true, best};
}

void HttpAdmission::opened(Id id, const std::string& source, uint64_t now_us) {
  auto [it, fresh] = conns_.try_emplace(id, Conn{source, now_us, false, false});
  if (!fresh) return;
  if (auto p = pending_.find(source); p != pending_.end() && p->second > 0) {
    if (--p->second == 0) pending_.erase(p);
    return;  // counted when admitted
  }
  ++live_;
  ++of_source_[source];
}

void HttpAdmission::request(Id id, uint64_t now_us) {
  if (auto it = conns_.find(id); it != conns_.end()) it->second.busy = true, it->second.since_us = now_us;
}

void HttpAdmission::completed(Id id, uint64_t now_us) {
  if (auto it = conns_.find(id); it != conns_.end()) it->second.busy = false, it->second.since_us = now_us;
}

void HttpAdmission::closed(Id id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (!it->second.evicted) {
    --live_;
    if (--of_source_[it->second.source] == 0) of_source_.erase(it->second.source);
  }
  conns_.erase(it);
}

std::vector<HttpAdmission::Id> HttpAdmission::expired(uint64_t now_us) {
  std::vector<Id> out;
  for (auto& [id, c] : conns_) {
    if (c.evicted || c.busy || now_us < c.since_us + limits_.header_us) continue;
    c.evicted = true;
    --live_;
    --of_source_[c.source];
    out.push_back(id);
  }
  return out;
}

std::optional<uint64_t> HttpAdmission::next_deadline() const {
  std::optional<uint64_t> out;
  for (const auto& [id, c] : conns_)
    if (!c.evicted && !c.busy && (!out || c.since_us + limits_.header_us < *out)) out = c.since_us + limits_.header_us;
  return out;
}

}  // namespace cronitor::agent
