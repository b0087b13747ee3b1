#include "agent/daemon/wrapper_intake.h"

#include <unistd.h>

#include <utility>

#include "common/event_source.h"

namespace cronitor::agent {

WrapperIntake::WrapperIntake(Hooks hooks, RateLimiter rate)
    : hooks_(std::move(hooks)), rate_(std::move(rate)), handler_(hooks_.owner_of, rate_, ::geteuid()) {}

WrapperIntake::~WrapperIntake() { close(); }

Result<void> WrapperIntake::open(sd_event* ev, const std::string& spool_dir, const std::string& socket) {
  ev_ = ev;
  spool_ = std::make_unique<SpoolIntake>(spool_dir, static_cast<SpoolIntake::Handler&>(*this));
  spool_->attach(ev);
  auto endpoint = ControlEndpoint::listen(ev, socket, *this);
  if (!endpoint) return std::unexpected(endpoint.error());
  endpoint_ = std::move(*endpoint);
  return {};
}

void WrapperIntake::close() {
  endpoint_.reset();
  spool_.reset();
}

void WrapperIntake::reply(ControlEndpoint::ConnId conn, std::string text) {
  if (endpoint_) endpoint_->reply(conn, std::move(text));
}

bool WrapperIntake::take_spool_events() { return spool_ && spool_->take_events(); }

void WrapperIntake::drain_spool(bool before_batch) {
  if (spool_) spool_->drain(before_batch);
}

void WrapperIntake::relist_spool() {
  if (spool_) spool_->relist();
}

void WrapperIntake::wake_spool() {
  if (spool_) spool_->wake();
}

std::optional<std::string> WrapperIntake::on_line(ControlEndpoint::ConnId conn, const Peer& peer,
                                                  std::string_view line) {
  Request r = handler_.handle(line, peer, loop_mono_usec(ev_));
  if (r.kind == Request::Kind::kReply) return std::move(r.reply);
  // The wrapper is the peer (SO_PEERCRED), whatever it says.
  if (r.kind == Request::Kind::kEvent && r.event.wrapper_pid) r.event.wrapper_pid = peer.pid;
  return hooks_.request(conn, peer, std::move(r));
}

// The spool's budget is the socket's: one per uid for both paths (rate_limiter.h).
bool WrapperIntake::spool_take(uid_t owner, uint64_t mono) { return rate_.take(owner, mono); }

void WrapperIntake::spool_charge(uid_t owner, uint64_t mono, double n) { rate_.charge(owner, mono, n); }

uint64_t WrapperIntake::spool_wait_usec(uid_t owner, uint64_t mono) { return rate_.wait_usec(owner, mono); }

std::optional<std::string> WrapperIntake::spool_refuse(const cronitor::RunEvent& ev, uid_t owner) {
  return handler_.refuse(ev, owner);
}

bool WrapperIntake::spool_store(std::span<const SpoolIntake::Spooled> events) { return hooks_.store(events); }

void WrapperIntake::spool_stored() { hooks_.stored(); }

}  // namespace cronitor::agent
