#include "actors/security_manager.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"

#include <cmath>
#include <random>

namespace qtc {

namespace {

/// How often a changed table is stored and decayed entries are pruned.
constexpr auto tick_interval = std::chrono::seconds{10};

/// A ban as subscribers see it, `now` being the actor clock's.
ban_view view_of(const subnet& net, std::optional<security_policy::time_point> until,
                 security_policy::time_point now) {
  ban_view v;
  v.base = net.base;
  v.prefix_len = net.prefix_len;
  v.seconds_left =
      until
          ? std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(*until - now).count())
          : -1;
  return v;
}

std::vector<ban_view> bans_in_force(security_pointer self) {
  auto now = self->clock().now();
  std::vector<ban_view> out;
  for (const auto& b : self->state.policy.list_bans(now))
    out.push_back(view_of(b.net, b.until, now));
  return out;
}

/// Tells every subscriber the whole list (after a load, a lifted ban).
void publish_all(security_pointer self) {
  auto bans = bans_in_force(self);
  for (const auto& who : self->state.subscribers)
    self->send(who, bans_atom::value, bans);
}

/// Tells the subscribers that `ip` is discouraged until its score decays below the rung: the
/// score halves every half-life, so that takes half-life × log2(score / discourage score).
void publish_discouraged(security_pointer self, const std::array<std::uint8_t, 16>& ip,
                         double score) {
  const auto& c = self->state.config;
  auto halvings =
      std::log2(score / static_cast<double>(std::max<std::uint32_t>(1, c.discourage_score)));
  ban_view v;
  v.base = ip;
  v.prefix_len = 128;
  v.discouraged = true;
  v.seconds_left = 1
                   + static_cast<std::int64_t>(std::max(0.0, halvings)
                                               * static_cast<double>(c.score_half_life.count()));
  for (const auto& who : self->state.subscribers)
    self->send(who, bans_atom::value, v);
}

/// The gauges: bans in force by type, tracked addresses.
void update_gauges(security_pointer self) {
  auto& st = self->state;
  auto s = st.policy.statistics(self->clock().now());
  st.metrics.gauge(metric_names::security_bans, {{"type", "address"}}, s.address_bans);
  st.metrics.gauge(metric_names::security_bans, {{"type", "subnet"}}, s.subnet_bans);
  st.metrics.gauge(metric_names::security_bans, {{"type", "manual"}}, s.manual_bans);
  st.metrics.gauge(metric_names::security_bans, {{"type", "forever"}}, s.forever_bans);
  st.metrics.gauge(metric_names::security_tracked_addresses, {}, s.tracked);
  // Throttled: by reputation (score in [throttle, discourage)) and by rate (over budget now).
  st.metrics.gauge(metric_names::security_throttled_addresses, {{"by", "score"}}, s.throttled);
  st.metrics.gauge(metric_names::security_throttled_addresses, {{"by", "rate"}},
                   st.rates.stats(self->clock().now()).throttled);
  // The reputation distribution: addresses by score bucket (below each bound; the last, above).
  for (std::size_t k = 0; k < s.histogram.size(); ++k) {
    auto below = k < security_policy::histogram_bounds.size()
                     ? std::to_string(static_cast<int>(security_policy::histogram_bounds[k]))
                     : std::string{"+Inf"};
    st.metrics.gauge(metric_names::security_reputation_addresses, {{"below", below}},
                     s.histogram[k]);
  }
}

/// Stores the table if it changed (one write at a time; a failure is logged and retried).
/// `urgent` (a ban): if a write is under way, another follows as soon as it is done rather than
/// at the next tick, so that every ban is stored within a write or two of being made.
void save(security_pointer self, bool urgent = false) {
  auto& st = self->state;
  if (st.saving && urgent)
    st.save_again = true;
  if (!st.loaded || !st.dirty || st.saving || !st.storage)
    return;
  auto text = st.policy.save(self->clock().now(), st.unix.now());
  st.dirty = false;
  st.saving = true;
  st.save_again = false;
  self->request(st.storage.get(), std::chrono::seconds{30}, put_atom::value, bans_atom::value,
                bytes(text.begin(), text.end()))
      .then(
          [self](bool) {
            self->state.saving = false;
            if (self->state.save_again)
              save(self);
          },
          [self](const caf::error& err) {
            self->state.saving = false;
            self->state.dirty = true;
            self->state.log.error("cannot store the ban list", {{"reason", render_error(err)}});
          });
}

/// The operator's allowlist, as given in the options: its permissions replace whatever the
/// policy had for those subnets.
void apply_allowlist(security_pointer self) {
  for (const auto& e : self->state.allow)
    self->state.policy.allow(e.net, e.permissions);
}

/// Reads the stored table; an unreadable one is reported and replaced by an empty one.
void load(security_pointer self) {
  auto& st = self->state;
  self->request(st.storage.get(), std::chrono::seconds{30}, get_atom::value, bans_atom::value)
      .then(
          [self](const bytes& raw) {
            auto& st = self->state;
            if (!raw.empty()) {
              auto r = security_policy::load(
                  std::string_view{reinterpret_cast<const char*>(raw.data()), raw.size()},
                  self->clock().now(), st.unix.now(), st.config);
              if (r.policy) {
                st.policy = std::move(*r.policy);
                apply_allowlist(self); // the operator's options, not the stored table, decide
                st.log.info("ban list loaded", {{"bans", std::to_string(st.policy.ban_count())},
                                                {"tracked", std::to_string(st.policy.tracked())},
                                                {"expired", std::to_string(r.expired_bans)}});
              } else {
                st.load_error = r.error;
                st.dirty = true; // the next save replaces the damaged table
                st.log.error("stored ban list unreadable; starting with an empty one",
                             {{"reason", r.error}});
              }
            }
            st.loaded = true;
            publish_all(self);
            update_gauges(self);
          },
          [self](const caf::error& err) {
            self->state.log.error("cannot read the ban list", {{"reason", render_error(err)}});
            self->quit(err);
          });
}

/// The log line for a verdict: its level and event.
void log_verdict(security_pointer self, const peer_offence& o,
                 const security_policy::outcome& out) {
  auto& st = self->state;
  log_fields fields{{"ip", format_ip(o.ip)},
                    {"offence", to_string(o.kind)},
                    {"verdict", to_string(out.v)},
                    {"score", std::to_string(static_cast<long long>(out.score))},
                    {"detail", o.detail}};
  if (out.v == verdict::ban || out.v == verdict::ban_forever) {
    auto now = self->clock().now();
    fields.emplace_back("seconds",
                        out.ban_until ? std::to_string(
                            std::chrono::ceil<std::chrono::seconds>(*out.ban_until - now).count())
                                      : "forever");
    if (out.subnet_banned)
      fields.emplace_back("subnet", st.policy.subnet_of(o.ip).format());
    st.log.warning("address banned", std::move(fields));
  } else if (out.v == verdict::none) {
    st.log.debug("peer offence", std::move(fields));
  } else {
    st.log.warning("peer offence", std::move(fields));
  }
}

/// An offence: weighed, logged, counted; a new ban goes to the subscribers. A detector's charge
/// (`reported` false) is weighed like any offence but counted as a detection, not an offence.
verdict weigh(security_pointer self, const peer_offence& o, bool reported = true) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto out = st.policy.record(o.ip, o.kind, now);
  st.dirty = true;
  if (reported) {
    ++st.offences[static_cast<std::size_t>(o.kind)];
    st.metrics.count(metric_names::security_offences_total, {{"kind", to_string(o.kind)}});
  }
  ++st.verdicts[static_cast<std::size_t>(out.v)];
  st.metrics.count(metric_names::security_verdicts_total, {{"verdict", to_string(out.v)}});
  log_verdict(self, o, out);
  if (out.v == verdict::discourage)
    publish_discouraged(self, o.ip, out.score);
  if (out.newly_banned) {
    st.metrics.count(metric_names::security_bans_total, {{"offence", to_string(o.kind)}});
    auto net = out.subnet_banned ? st.policy.subnet_of(o.ip) : subnet::host(o.ip);
    auto view = view_of(net, out.ban_until, now);
    for (const auto& who : st.subscribers)
      self->send(who, bans_atom::value, view);
    update_gauges(self);
    save(self, true); // stored at once, not at the next tick: it must survive a restart
  }
  return out.v;
}

/// Rate allowance for a session of `ip`. An address over budget for most of the last minute is
/// charged rate-exceeded, once a minute at most: the ladder moves it on from throttled.
rate_grant on_grant(security_pointer self, const std::array<std::uint8_t, 16>& ip,
                    std::uint32_t messages, std::uint64_t bytes) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto g = st.rates.request(ip, messages, bytes, now, st.policy.permissions_of(ip));
  rate_grant out;
  out.messages = g.messages;
  out.bytes = g.bytes;
  out.sustained = g.sustained;
  if (g.retry_at)
    out.retry_ms = std::max<std::int64_t>(
        1, std::chrono::ceil<std::chrono::milliseconds>(*g.retry_at - now).count());
  if (g.sustained) {
    auto [i, fresh] = st.rate_charged.try_emplace(ip, now);
    if (fresh || now - i->second >= std::chrono::minutes{1}) {
      i->second = now;
      auto held = st.rates.throttled_for(ip, now).count();
      weigh(self, peer_offence{0, ip, offence::rate_exceeded,
                               "over its rate budget for " + std::to_string(held)
                                   + " s of the last minute"});
    }
  }
  return out;
}

/// What a detector said: counted; an alert logged; a subnet pattern charged to the address.
void on_detections(security_pointer self, const std::vector<detection>& found, offence charge) {
  auto& st = self->state;
  for (const auto& d : found) {
    auto name = std::string{qtc::name(d.which)};
    auto net =
        subnet{d.subnet, static_cast<std::uint8_t>(is_ipv4(d.ip) ? 96 + d.prefix : d.prefix)};
    if (d.alert) {
      st.metrics.count(metric_names::security_alerts_total, {{"detector", name}});
      st.log.warning("security alert", {{"detector", name},
                                        {"events", std::to_string(d.node_count)},
                                        {"subnet", net.format()},
                                        {"subnet_events", std::to_string(d.count)},
                                        {"suppressed", std::to_string(d.suppressed)}});
    }
    if (!d.fired)
      continue;
    st.metrics.count(metric_names::security_detections_total, {{"detector", name}});
    weigh(self,
          peer_offence{0, d.ip, charge,
                       "detector " + name + ": " + std::to_string(d.count) + " in " + net.format()
                           + " within the window"},
          false);
  }
}

/// An offence a peer committed: weighed, and fed to its detector (which may charge it again).
verdict on_offence(security_pointer self, const peer_offence& o) {
  auto v = weigh(self, o);
  on_detections(self, self->state.detectors.observe(o.kind, o.ip, self->clock().now()), o.kind);
  return v;
}

/// After the operator changed the bans: the whole list to the subscribers (a lifted ban cannot
/// be sent as one more), the gauges, and the table stored at once.
void bans_changed(security_pointer self) {
  self->state.dirty = true;
  publish_all(self);
  update_gauges(self);
  save(self, true);
}

/// The operator's view of the bans.
caf::config_value::list list_bans(security_pointer self) {
  auto now = self->clock().now();
  caf::config_value::list out;
  for (const auto& b : self->state.policy.list_bans(now)) {
    caf::settings e;
    report(e, "subnet", b.net.format());
    report(e, "reason", b.reason);
    report(e, "offences", b.offences);
    report(e, "manual", b.manual);
    report(e, "seconds-left", view_of(b.net, b.until, now).seconds_left);
    out.emplace_back(std::move(e));
  }
  return out;
}

/// The operator bans a subnet or address.
caf::result<bool> operator_ban(security_pointer self, const std::string& text, std::int64_t seconds,
                               const std::string& reason) {
  auto net = subnet::parse(text);
  if (!net)
    return make_error(errc::invalid_config,
                      "not an address or subnet: '" + text + "' (e.g. 192.0.2.7, 2001:db8::/32)");
  if (seconds < 0 || seconds > 100LL * 365 * 86400)
    return make_error(errc::invalid_config,
                      "ban seconds must be 0 (until lifted) to 100 years, not "
                          + std::to_string(seconds));
  auto now = self->clock().now();
  std::optional<security_policy::time_point> until;
  if (seconds > 0)
    until = now + std::chrono::seconds{seconds};
  if (!self->state.policy.ban(*net, until, reason.substr(0, 200), now))
    return make_error(errc::refused, "the ban list is full of the operator's bans");
  self->state.metrics.count(metric_names::security_bans_total, {{"offence", "manual"}});
  self->state.log.warning("address banned by the operator",
                          {{"subnet", net->format()},
                           {"seconds", seconds > 0 ? std::to_string(seconds) : "forever"},
                           {"reason", reason}});
  bans_changed(self);
  return true;
}

/// The operator lifts a ban (exactly this subnet or address).
caf::result<bool> operator_unban(security_pointer self, const std::string& text) {
  auto net = subnet::parse(text);
  if (!net)
    return make_error(errc::invalid_config, "not an address or subnet: '" + text + "'");
  if (!self->state.policy.unban(*net))
    return false;
  self->state.log.info("ban lifted by the operator", {{"subnet", net->format()}});
  bans_changed(self);
  return true;
}

std::uint64_t operator_clear(security_pointer self) {
  auto n = self->state.policy.ban_count();
  self->state.policy.clear_bans();
  self->state.log.info("all bans lifted by the operator", {{"bans", std::to_string(n)}});
  bans_changed(self);
  return n;
}

/// An inbound connection from `ip`: counted for the connection-churn detector, then answered by
/// the policy (standing, per-address and per-subnet counts); an accept is counted until the
/// peer manager says it closed.
admission admit(security_pointer self, const std::array<std::uint8_t, 16>& ip) {
  auto& st = self->state;
  auto now = self->clock().now();
  on_detections(self, st.detectors.observe_connection(ip, now), offence::connection_churn);
  auto a = st.loaded ? st.policy.admit_inbound(ip, now) : admission::refuse_starting;
  if (accepted(a))
    st.policy.connection_opened(ip);
  ++st.admissions[static_cast<std::size_t>(a)];
  st.metrics.count(metric_names::security_admissions_total, {{"result", to_string(a)}});
  return a;
}

/// Bans by type, reputations, offences and verdicts so far.
status_report security_status(security_pointer self, status_verbosity v) {
  auto& st = self->state;
  auto s = st.policy.statistics(self->clock().now());
  caf::settings r;
  report(r, "name", "security");
  report(r, "state", st.loaded ? "running" : "loading");
  report(r, "bans-address", s.address_bans);
  report(r, "bans-subnet", s.subnet_bans);
  report(r, "bans-manual", s.manual_bans);
  report(r, "bans-forever", s.forever_bans);
  report(r, "tracked", s.tracked);
  report(r, "throttled", s.throttled);
  report(r, "discouraged", s.discouraged);
  auto rates = st.rates.stats(self->clock().now());
  report(r, "rate-tracked", rates.tracked);
  report(r, "rate-throttled", rates.throttled);
  report(r, "rate-refused-grants", rates.refused);
  if (!st.load_error.empty())
    report(r, "load-error", st.load_error);
  caf::settings offences;
  for (std::size_t k = 0; k < offence_count; ++k)
    if (st.offences[k] > 0)
      report(offences, to_string(static_cast<offence>(k)), st.offences[k]);
  report(r, "offences", std::move(offences));
  caf::settings verdicts;
  for (std::size_t k = 0; k < st.verdicts.size(); ++k)
    report(verdicts, to_string(static_cast<verdict>(k)), st.verdicts[k]);
  report(r, "verdicts", std::move(verdicts));
  caf::settings admissions;
  for (std::size_t k = 0; k < st.admissions.size(); ++k)
    report(admissions, to_string(static_cast<admission>(k)), st.admissions[k]);
  report(r, "admissions", std::move(admissions));
  report(r, "inbound-counted", st.policy.open_connections());
  caf::settings detectors;
  for (std::size_t k = 0; k < detector_count; ++k) {
    const auto& d = st.detectors.stats(static_cast<detector>(k));
    if (d.fired == 0 && d.alerts == 0)
      continue;
    caf::settings e;
    report(e, "fired", d.fired);
    report(e, "alerts", d.alerts);
    report(e, "suppressed", d.suppressed);
    report(detectors, std::string{name(static_cast<detector>(k))}, std::move(e));
  }
  report(r, "detectors", std::move(detectors));
  caf::config_value::list histogram;
  for (auto n : s.histogram)
    histogram.emplace_back(static_cast<std::int64_t>(n));
  report(r, "score-histogram", std::move(histogram));
  if (v != status_verbosity::info)
    report(r, "bans", list_bans(self));
  return r;
}

void on_tick(security_pointer self) {
  auto now = self->clock().now();
  self->state.policy.prune(now);
  self->state.rates.prune(now);
  std::erase_if(self->state.rate_charged,
                [now](const auto& e) { return now - e.second >= std::chrono::minutes{1}; });
  save(self);
  update_gauges(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
}

} // namespace

security_actor::behavior_type security_manager(security_pointer self, security_settings settings,
                                               supervisor_actor parent) {
  auto& config = settings.policy;
  auto& st = self->state;
  st.log = logger{self->system(), "security"};
  st.metrics = metrics_client{self->system()};
  // The reputation table's hash key: secret, so that nobody can pick colliding addresses.
  std::random_device rd;
  for (auto& b : config.hash_key)
    b = static_cast<std::uint8_t>(rd());
  st.config = config;
  st.policy = security_policy{config};
  st.allow = settings.allow;
  apply_allowlist(self);
  st.rates = rate_budget{settings.rates};
  st.detectors = attack_detectors{settings.detectors};
  st.unix = unix_clock{self->clock()};
  st.storage.find(
      self, parent, std::chrono::seconds{10}, [self](const storage_actor&) { load(self); },
      [self](const caf::error& err) {
        self->state.log.error("storage not found", {{"reason", render_error(err)}});
        self->quit(err);
      });
  self->set_down_handler([self](const caf::down_msg& msg) {
    std::erase_if(self->state.subscribers,
                  [&](const auto& who) { return who.address() == msg.source; });
  });
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
      [self](status_atom, status_verbosity v) { return security_status(self, v); },
      [self](offence_atom, const peer_offence& o) { return on_offence(self, o); },
      [self](accept_atom, const std::array<std::uint8_t, 16>& ip) { return admit(self, ip); },
      [self](closed_atom, const std::array<std::uint8_t, 16>& ip) {
        self->state.policy.connection_closed(ip);
      },
      [self](ready_atom, const std::array<std::uint8_t, 16>& ip,
             const std::array<std::uint8_t, 32>& key) {
        auto& st = self->state;
        on_detections(self, st.detectors.identity_seen(key, ip, self->clock().now()),
                      offence::shared_identity);
      },
      [self](grant_atom, const std::array<std::uint8_t, 16>& ip, std::uint32_t messages,
             std::uint64_t bytes) { return on_grant(self, ip, messages, bytes); },
      [self](subscribe_atom, const ban_subscriber_actor& who,
             const std::vector<std::array<std::uint8_t, 16>>& open) {
        self->monitor(who); // forgotten when it stops (a restarted peer manager subscribes anew)
        self->state.subscribers.push_back(who);
        self->state.policy.reset_connections();
        for (const auto& ip : open)
          self->state.policy.connection_opened(ip);
        if (self->state.loaded)
          self->send(who, bans_atom::value, bans_in_force(self));
      },
      [self](get_atom, bans_atom) { return list_bans(self); },
      [self](put_atom, bans_atom, const std::string& text, std::int64_t seconds,
             const std::string& reason) { return operator_ban(self, text, seconds, reason); },
      [self](delete_atom, bans_atom, const std::string& text) {
        return operator_unban(self, text);
      },
      [self](clear_atom, bans_atom) { return operator_clear(self); },
      [self](tick_atom) { on_tick(self); },
  };
}

} // namespace qtc
