#include "agent/sources/proc_events.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <utility>

#include "agent/sources/host_facts.h"

namespace cronitor::agent {
namespace {

// A process event message is 16 (netlink) + 20 (connector) + 40 (event) bytes; a datagram larger
// than this is not one the connector sends, and is truncated and counted as malformed.
constexpr size_t kDatagramMax = 512;
constexpr size_t kBatch = 64;  // datagrams per recvmmsg(): one system call per burst, not per event

constexpr size_t kEventHeader = offsetof(proc_event, event_data);

template <typename T>
T load(std::span<const std::byte> bytes, size_t at) {
  T v{};
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// Decodes one proc_event of `len` bytes; false when it is too short for its kind.
bool decode_event(std::span<const std::byte> data, ProcEvent& e, bool& used) {
  used = true;
  if (data.size() < kEventHeader) return false;
  proc_event ev{};
  std::memcpy(&ev, data.data(), std::min(data.size(), sizeof ev));
  e.timestamp_ns = ev.timestamp_ns;
  auto needs = [&](size_t payload) { return data.size() >= kEventHeader + payload; };
  switch (ev.what) {
    case proc_event::PROC_EVENT_NONE:
      if (!needs(sizeof ev.event_data.ack)) return false;
      e.kind = ProcEvent::Kind::ack;
      e.ack_err = ev.event_data.ack.err;
      return true;
    case proc_event::PROC_EVENT_FORK:
      if (!needs(sizeof ev.event_data.fork)) return false;
      e.kind = ProcEvent::Kind::fork;
      e.parent_pid = ev.event_data.fork.parent_pid;
      e.parent_tgid = ev.event_data.fork.parent_tgid;
      e.pid = ev.event_data.fork.child_pid;
      e.tgid = ev.event_data.fork.child_tgid;
      return true;
    case proc_event::PROC_EVENT_EXEC:
      if (!needs(sizeof ev.event_data.exec)) return false;
      e.kind = ProcEvent::Kind::exec;
      e.pid = ev.event_data.exec.process_pid;
      e.tgid = ev.event_data.exec.process_tgid;
      return true;
    case proc_event::PROC_EVENT_UID:
      if (!needs(sizeof ev.event_data.id)) return false;
      e.kind = ProcEvent::Kind::uid;
      e.pid = ev.event_data.id.process_pid;
      e.tgid = ev.event_data.id.process_tgid;
      e.ruid = ev.event_data.id.r.ruid;
      e.euid = ev.event_data.id.e.euid;
      return true;
    case proc_event::PROC_EVENT_EXIT:
      // Kernels before 4.x end the exit event at exit_signal: the parent is then 0.
      if (!needs(offsetof(decltype(ev.event_data.exit), parent_pid))) return false;
      e.kind = ProcEvent::Kind::exit;
      e.pid = ev.event_data.exit.process_pid;
      e.tgid = ev.event_data.exit.process_tgid;
      e.exit_code = ev.event_data.exit.exit_code;
      e.exit_signal = ev.event_data.exit.exit_signal;
      if (needs(sizeof ev.event_data.exit)) {
        e.parent_pid = ev.event_data.exit.parent_pid;
        e.parent_tgid = ev.event_data.exit.parent_tgid;
      }
      return true;
    default:
      used = false;
      return true;
  }
}

// Sends one connector message with `op` to the kernel.
Result<void> send_op(int fd, proc_cn_mcast_op op) {
  std::array<std::byte, NLMSG_HDRLEN + sizeof(cn_msg) + sizeof(proc_cn_mcast_op)> msg{};
  nlmsghdr nl{};
  nl.nlmsg_len = msg.size();
  nl.nlmsg_type = NLMSG_DONE;  // nlmsg_pid 0: the kernel fills in our port
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.len = sizeof(proc_cn_mcast_op);
  std::memcpy(msg.data(), &nl, sizeof nl);
  std::memcpy(msg.data() + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(msg.data() + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return std::unexpected(
        Error::from_errno("sendto", op == PROC_CN_MCAST_LISTEN ? "PROC_CN_MCAST_LISTEN" : "PROC_CN_MCAST_IGNORE"));
  return {};
}

// A socket filter run by the kernel on each message before it is queued: only forks and exits of
// processes (not threads), execs and acks reach the socket. Threads of busy services and uid,
// gid, sid, comm, ptrace and coredump events would cost a copy and a wake-up each, and no run
// needs them. Classic BPF loads words in network order: constants are htonl'd, and two fields
// are compared with each other as loaded.
Result<void> attach_filter(int fd) {
  constexpr uint32_t kEvent = NLMSG_HDRLEN + sizeof(cn_msg);  // the proc_event in the message
  constexpr uint32_t kWhat = kEvent + offsetof(proc_event, what);
  constexpr uint32_t kData = kEvent + offsetof(proc_event, event_data);
  constexpr uint32_t kForkChildPid = kData + offsetof(decltype(proc_event{}.event_data.fork), child_pid);
  constexpr uint32_t kForkChildTgid = kData + offsetof(decltype(proc_event{}.event_data.fork), child_tgid);
  constexpr uint32_t kExitPid = kData + offsetof(decltype(proc_event{}.event_data.exit), process_pid);
  constexpr uint32_t kExitTgid = kData + offsetof(decltype(proc_event{}.event_data.exit), process_tgid);
  sock_filter prog[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhat),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(proc_event::PROC_EVENT_FORK), 5, 0),  // -> 7
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(proc_event::PROC_EVENT_EXIT), 8, 0),  // -> 11
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(proc_event::PROC_EVENT_EXEC), 2, 0),  // -> 6
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(proc_event::PROC_EVENT_NONE), 1, 0),  // -> 6
      /* 5 */ BPF_STMT(BPF_RET | BPF_K, 0),                                                   // drop
      /* 6 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                                          // keep
      /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kForkChildPid),
      /* 8 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kForkChildTgid),
      /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 4, 5),  // a process -> 15, a thread -> 16
      /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kExitPid),
      /* 12 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kExitTgid),
      /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),  // the leader -> 15, a thread -> 16
      /* 15 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
      /* 16 */ BPF_STMT(BPF_RET | BPF_K, 0),
  };
  sock_fprog fprog{static_cast<unsigned short>(std::size(prog)), prog};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0)
    return std::unexpected(Error::from_errno("setsockopt", "SO_ATTACH_FILTER"));
  return {};
}

}  // namespace

ProcDecodeStats decode_proc_datagram(std::span<const std::byte> datagram, std::vector<ProcEvent>& out) {
  ProcDecodeStats s;
  size_t at = 0;
  while (datagram.size() - at >= NLMSG_HDRLEN) {
    const auto nl = load<nlmsghdr>(datagram, at);
    if (nl.nlmsg_len < NLMSG_HDRLEN || nl.nlmsg_len > datagram.size() - at) {
      ++s.malformed;  // the rest of the datagram cannot be framed
      return s;
    }
    const auto payload = datagram.subspan(at + NLMSG_HDRLEN, nl.nlmsg_len - NLMSG_HDRLEN);
    at += std::min<size_t>(NLMSG_ALIGN(nl.nlmsg_len), datagram.size() - at);
    if (nl.nlmsg_type == NLMSG_NOOP) continue;
    if (nl.nlmsg_type == NLMSG_ERROR || nl.nlmsg_type == NLMSG_OVERRUN) {
      ++s.malformed;
      continue;
    }
    if (payload.size() < sizeof(cn_msg)) {
      ++s.malformed;
      continue;
    }
    const auto cn = load<cn_msg>(payload, 0);
    if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC) {
      ++s.ignored;
      continue;
    }
    if (cn.len > payload.size() - sizeof(cn_msg)) {
      ++s.malformed;
      continue;
    }
    ProcEvent e;
    bool used = false;
    if (!decode_event(payload.subspan(sizeof(cn_msg), cn.len), e, used)) {
      ++s.malformed;
    } else if (!used) {
      ++s.ignored;
    } else {
      out.push_back(e);
      ++s.events;
    }
  }
  if (at < datagram.size()) ++s.malformed;  // a tail shorter than a netlink header
  return s;
}

std::vector<std::byte> encode_proc_datagram(const ProcEvent& e) {
  proc_event ev{};
  ev.timestamp_ns = e.timestamp_ns;
  switch (e.kind) {
    case ProcEvent::Kind::ack:
      ev.what = proc_event::PROC_EVENT_NONE;
      ev.event_data.ack.err = e.ack_err;
      break;
    case ProcEvent::Kind::fork:
      ev.what = proc_event::PROC_EVENT_FORK;
      ev.event_data.fork = {e.parent_pid, e.parent_tgid, e.pid, e.tgid};
      break;
    case ProcEvent::Kind::exec:
      ev.what = proc_event::PROC_EVENT_EXEC;
      ev.event_data.exec = {e.pid, e.tgid};
      break;
    case ProcEvent::Kind::uid:
      ev.what = proc_event::PROC_EVENT_UID;
      ev.event_data.id.process_pid = e.pid;
      ev.event_data.id.process_tgid = e.tgid;
      ev.event_data.id.r.ruid = e.ruid;
      ev.event_data.id.e.euid = e.euid;
      break;
    case ProcEvent::Kind::exit:
      ev.what = proc_event::PROC_EVENT_EXIT;
      ev.event_data.exit = {e.pid, e.tgid, e.exit_code, e.exit_signal, e.parent_pid, e.parent_tgid};
      break;
  }
  const size_t len = NLMSG_HDRLEN + sizeof(cn_msg) + sizeof ev;
  std::vector<std::byte> out(NLMSG_ALIGN(len));
  nlmsghdr nl{};
  nl.nlmsg_len = static_cast<uint32_t>(len);
  nl.nlmsg_type = NLMSG_DONE;
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.len = sizeof ev;
  std::memcpy(out.data(), &nl, sizeof nl);
  std::memcpy(out.data() + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(out.data() + NLMSG_HDRLEN + sizeof cn, &ev, sizeof ev);
  return out;
}

Result<ProcConnector> ProcConnector::open(Options options) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return std::unexpected(Error::from_errno("socket", "NETLINK_CONNECTOR"));
  ProcConnector c{UniqueFd(fd)};
  // Root may exceed net.core.rmem_max; without the capability the default buffer is kept.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receive_buffer, sizeof options.receive_buffer) < 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof options.receive_buffer);
  sockaddr_nl self{};
  self.nl_family = AF_NETLINK;
  self.nl_groups = CN_IDX_PROC;
  if (options.kernel_filter)
    if (auto attached = attach_filter(fd); !attached) return std::unexpected(attached.error());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) < 0)
    return std::unexpected(Error::from_errno("bind", "NETLINK_CONNECTOR group CN_IDX_PROC"));
  if (auto sent = send_op(fd, PROC_CN_MCAST_LISTEN); !sent) return std::unexpected(sent.error());

  // Events of other processes may come before the ack; they predate the source and are dropped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.ack_timeout_ms);
  for (;;) {
    std::optional<uint32_t> ack;
    auto drained = c.drain([&](const ProcEvent& e) {
      if (e.kind == ProcEvent::Kind::ack && !ack) ack = e.ack_err;
    });
    if (!drained) return std::unexpected(drained.error());
    if (ack && *ack != 0) return std::unexpected(Error::from_errno("PROC_CN_MCAST_LISTEN", "", static_cast<int>(*ack)));
    if (ack) return c;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return fail("PROC_CN_MCAST_LISTEN: no answer from the kernel in " + std::to_string(options.ack_timeout_ms) +
                  " ms (not the host's pid or user namespace?)");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      return std::unexpected(Error::from_errno("poll", "NETLINK_CONNECTOR"));
  }
}

ProcConnector::ProcConnector(ProcConnector&& o) noexcept = default;
ProcConnector& ProcConnector::operator=(ProcConnector&& o) noexcept {
  if (this != &o) {
    stop_listening();
    fd_ = std::move(o.fd_);
  }
  return *this;
}
ProcConnector::~ProcConnector() { stop_listening(); }

void ProcConnector::stop_listening() {
  if (fd_) (void)send_op(fd_.get(), PROC_CN_MCAST_IGNORE);
}

Result<ProcConnector::Drained> ProcConnector::drain(const std::function<void(const ProcEvent&)>& on_event,
                                                    size_t max_datagrams) {
  Drained d;
  std::array<std::array<std::byte, kDatagramMax>, kBatch> bufs;
  std::array<iovec, kBatch> iov;
  std::array<sockaddr_nl, kBatch> from;
  std::array<mmsghdr, kBatch> msgs;
  std::vector<ProcEvent> events;
  events.reserve(kBatch);
  while (d.datagrams < max_datagrams) {
    const size_t want = std::min(kBatch, max_datagrams - d.datagrams);
    for (size_t i = 0; i < want; ++i) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = ::recvmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the queue overran; reading goes on with what came after
        ++d.losses;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return d;
      return std::unexpected(Error::from_errno("recvmmsg", "NETLINK_CONNECTOR"));
    }
    if (n == 0) return d;
    for (int i = 0; i < n; ++i) {
      ++d.datagrams;
      const auto& h = msgs[i].msg_hdr;
      // Only the kernel (port 0) speaks for processes: another local process may send us anything.
      if (h.msg_namelen < sizeof(sockaddr_nl) || from[i].nl_pid != 0) {
        ++d.foreign;
        continue;
      }
      if (h.msg_flags & MSG_TRUNC) {
        ++d.malformed;
        continue;
      }
      events.clear();
      auto s = decode_proc_datagram(std::span<const std::byte>(bufs[i].data(), msgs[i].msg_len), events);
      d.events += s.events;
      d.malformed += s.malformed;
      d.ignored += s.ignored;
      for (const auto& e : events) on_event(e);
    }
    if (static_cast<size_t>(n) < want) return d;
  }
  d.more = true;
  return d;
}

schedule::Instant wall_time_of(uint64_t timestamp_ns) {
  timespec mono{}, real{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  ::clock_gettime(CLOCK_REALTIME, &real);
  auto ns = [](const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; };
  const int64_t wall_ns = ns(real) - (ns(mono) - static_cast<int64_t>(timestamp_ns));
  return schedule::Instant(std::chrono::microseconds(wall_ns / 1000));
}

std::optional<ExecFacts> read_exec_facts(pid_t pid) {
  auto stat = read_proc_stat(pid);
  if (!stat || !stat->alive()) return std::nullopt;
  auto uid = proc_uid(pid);
  if (!uid) return std::nullopt;
  ExecFacts f;
  f.uid = *uid;
  f.argv = proc_cmdline(pid);
  f.start_ticks = stat->start_ticks;
  if (f.argv.empty()) return std::nullopt;  // gone between the reads (a zombie has no argv)
  return f;
}

bool process_still_alive(pid_t pid, uint64_t start_ticks) {
  auto stat = read_proc_stat(pid);
  return stat && stat->alive() && (start_ticks == 0 || stat->start_ticks == start_ticks);
}

}  // namespace cronitor::agent
