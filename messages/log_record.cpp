#include "messages/log_record.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace qtc {

namespace {

/// logfmt quoting: bare when the value has no space, quote, '=' or control character.
void append_value(std::string& out, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      bare = false;
  if (bare) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += '?';
      else
        out += c;
    }
  }
  out += '"';
}

std::string iso8601(caf::timestamp t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

} // namespace

std::string format_duration(caf::timespan d) {
  using namespace std::chrono;
  auto ns = d.count();
  if (ns < 0)
    return "-" + format_duration(caf::timespan{-ns});
  if (ns % 1'000'000 != 0 && ns < 1'000'000'000)
    return ns % 1000 == 0 ? std::to_string(ns / 1000) + "us" : std::to_string(ns) + "ns";
  auto ms = ns / 1'000'000;
  if (ms < 1000)
    return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  auto frac = ms % 1000;
  std::string out;
  if (s >= 60) {
    out = std::to_string(s / 60) + "m";
    s %= 60;
    if (s == 0 && frac == 0)
      return out;
  }
  out += std::to_string(s);
  if (frac != 0) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), ".%03d", static_cast<int>(frac));
    std::string f = buf;
    while (f.back() == '0')
      f.pop_back();
    out += f;
  }
  return out + "s";
}

std::string format_logfmt(const log_record& x) {
  std::string out;
  out.reserve(128);
  out += "ts=";
  out += iso8601(x.time);
  out += " level=";
  out += to_string(x.level);
  if (!x.node.empty()) {
    out += " node=";
    append_value(out, x.node);
  }
  out += " actor=";
  append_value(out, x.actor);
  out += " msg=";
  append_value(out, x.event);
  for (const auto& [key, value] : x.fields) {
    out += ' ';
    out += key;
    out += '=';
    append_value(out, value);
  }
  return out;
}

bool log_filter_matches(const log_record& x, std::string_view actor_prefix, log_level level) {
  return x.level <= level
         && std::string_view{x.actor}.substr(0, actor_prefix.size()) == actor_prefix;
}

} // namespace qtc
