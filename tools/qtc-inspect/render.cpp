#include "render.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

namespace qtc::cli {

namespace {

using json = nlohmann::json;

std::string text(const json& j, const char* key, const std::string& fallback = "-") {
  auto i = j.find(key);
  if (i == j.end() || i->is_null())
    return fallback;
  if (i->is_string())
    return i->get<std::string>();
  if (i->is_boolean())
    return i->get<bool>() ? "yes" : "no";
  return i->dump();
}

double number(const json& j, const char* key, double fallback = 0) {
  auto i = j.find(key);
  return i != j.end() && i->is_number() ? i->get<double>() : fallback;
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() > width)
    s = s.substr(0, width - 1) + "~";
  s.resize(width, ' ');
  return s;
}

std::string rpad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

/// The meter columns of one actor: mailbox, msgs/s, slowest, busy now.
std::string meter_columns(const json& m) {
  return rpad(text(m, "mailbox", "0"), 8) + rpad(fixed(number(m, "messages-per-second"), 1), 10)
         + rpad(fixed(number(m, "slowest-ms"), 2), 12)
         + rpad(number(m, "handling-ms") > 0 ? fixed(number(m, "handling-ms"), 1) : "-", 11);
}

const std::string meter_header =
    rpad("MAILBOX", 8) + rpad("MSG/S", 10) + rpad("SLOWEST ms", 12) + rpad("BUSY ms", 11);

} // namespace

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return fixed(bytes, u == 0 ? 0 : 1) + " " + units[u];
}

std::string render_tree(const json& tree) {
  std::ostringstream out;
  const auto& sup = tree.value("supervisor", json::object());
  out << "node " << text(tree, "node", "") << "\n";
  out << "root (" << text(sup, "strategy") << ", " << text(sup, "state") << ", recent restarts "
      << text(sup, "recent-restarts", "0") << ")\n";
  // The supervisor's view of each child (state, restarts) by name.
  std::map<std::string, json> kids;
  for (const auto& k : sup.value("child-list", json::array()))
    kids[text(k, "name", "")] = k;
  out << "    " << pad("CHILD", 14) << pad("STATE", 10) << rpad("RESTARTS", 9) << meter_header
      << "  STATUS\n";
  auto components = tree.value("components", json::array());
  for (std::size_t i = 0; i < components.size(); ++i) {
    const auto& c = components[i];
    auto name = text(c, "name", "?");
    // The children are listed in start order; the supervisor's names are those of the spec.
    std::string child = i < sup.value("child-list", json::array()).size()
                            ? text(sup["child-list"][i], "name", name)
                            : name;
    const auto& kid = kids.count(child) ? kids[child] : json::object();
    out << (i + 1 == components.size() ? "└── " : "├── ") << pad(child, 14)
        << pad(text(kid, "state", text(c, "state")), 10) << rpad(text(kid, "restarts", "-"), 9)
        << meter_columns(c.value("actor", json::object())) << "  " << text(c, "state") << "\n";
  }
  auto sessions = tree.value("sessions", json::array());
  out << "peer sessions (" << sessions.size() << ")\n";
  for (const auto& s : sessions)
    out << "    " << pad(text(s, "label", text(s, "name")), 40) << meter_columns(s) << "\n";
  return out.str();
}

std::string render_actors(const json& actors, actor_order order, std::size_t rows) {
  std::vector<json> list(actors.begin(), actors.end());
  auto key = [order](const json& a) {
    switch (order) {
    case actor_order::mailbox:
      return number(a, "mailbox");
    case actor_order::rate:
      return number(a, "messages-per-second");
    case actor_order::slowest:
      return number(a, "slowest-ms");
    case actor_order::name:
      return 0.0;
    }
    return 0.0;
  };
  std::stable_sort(list.begin(), list.end(), [&](const json& a, const json& b) {
    if (order == actor_order::name)
      return text(a, "name") + text(a, "label", "") < text(b, "name") + text(b, "label", "");
    return key(a) > key(b);
  });
  std::ostringstream out;
  out << rpad("ID", 6) << "  " << pad("ACTOR", 44) << meter_header << rpad("HANDLED", 10) << "\n";
  std::size_t n = 0;
  for (const auto& a : list) {
    if (rows != 0 && n++ >= rows)
      break;
    auto label = text(a, "label", "");
    out << rpad(text(a, "id"), 6) << "  "
        << pad(text(a, "name") + (label.empty() ? "" : " " + label), 44) << meter_columns(a)
        << rpad(text(a, "handled", "0"), 10) << "\n";
  }
  return out.str();
}

std::string render_peers(const json& peers) {
  std::ostringstream out;
  out << rpad("ID", 5) << "  " << pad("ADDRESS", 24) << pad("DIR", 13) << pad("TRANSPORT", 10)
      << pad("PQ", 4) << rpad("PING ms", 9) << rpad("SENT", 12) << rpad("RECEIVED", 12)
      << rpad("HEIGHT", 8) << rpad("USEFUL", 8) << rpad("VIOL", 6) << "  " << pad("STATE", 10)
      << "\n";
  for (const auto& p : peers) {
    const auto& score = p.value("score", json::object());
    auto ping = number(score, "ping-ms", -1);
    out << rpad(text(p, "id"), 5) << "  " << pad(text(p, "remote"), 24) << pad(text(p, "type"), 13)
        << pad(text(p, "transport"), 10) << pad(text(p, "post-quantum"), 4)
        << rpad(ping < 0 ? "-" : fixed(ping, 1), 9)
        << rpad(human_bytes(number(score, "bytes-sent")), 12)
        << rpad(human_bytes(number(score, "bytes-received")), 12)
        << rpad(text(score, "best-height"), 8)
        << rpad(fixed(number(score, "useful-headers") + number(score, "useful-blocks"), 0), 8)
        << rpad(text(score, "violations", "0"), 6) << "  " << pad(text(p, "state"), 10) << "\n";
  }
  if (peers.empty())
    out << "(no peers)\n";
  return out.str();
}

std::string render_bans(const json& bans) {
  std::ostringstream out;
  out << pad("SUBNET", 44) << pad("REASON", 24) << rpad("OFFENCES", 9) << rpad("SECONDS LEFT", 14)
      << "\n";
  for (const auto& b : bans) {
    auto left = number(b, "seconds-left", -1);
    out << pad(text(b, "subnet"), 44) << pad(text(b, "reason"), 24)
        << rpad(text(b, "offences", "0"), 9) << rpad(left < 0 ? "forever" : fixed(left, 0), 14)
        << "\n";
  }
  if (bans.empty())
    out << "(no bans)\n";
  return out.str();
}

std::string render_sync(const json& sync) {
  std::ostringstream out;
  if (sync.contains("error")) {
    out << "sync: " << text(sync, "error") << "\n";
    return out.str();
  }
  out << "sync " << text(sync, "state") << ": blocks " << text(sync, "blocks") << " / target "
      << text(sync, "target") << " (" << fixed(100 * number(sync, "progress"), 1) << "%), headers "
      << text(sync, "headers") << ", peers " << text(sync, "peers") << ", tip " << text(sync, "tip")
      << "\n";
  return out.str();
}

} // namespace qtc::cli
