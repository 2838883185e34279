// Checked reading of a parsed TOML file: every problem becomes a config_error naming the file,
// the line, the dotted key and what is wrong, and reading goes on, so that one run reports all
// of them (the chain spec's loader and the simulator's scenario files).
#pragma once

#include "runtime/chain/chain_spec.hpp"

#include <toml.hpp>

#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace qtc {

/// "an integer", "a string", ... for messages.
std::string type_name(const toml::value& v);

/// Walks one parsed file, collecting every problem.
class checker {
public:
  checker(std::string file, std::vector<config_error>& errors)
      : file_(std::move(file)), errors_(errors) {}

  void fail(std::size_t line, std::string key, std::string what) {
    errors_.push_back({file_, line, std::move(key), std::move(what)});
  }

  /// A table of the root; reports it (and returns null) if missing or not a table.
  const toml::value* table(const toml::value& root, const std::string& name) {
    const auto& tables = root.as_table();
    auto i = tables.find(name);
    if (i == tables.end()) {
      fail(1, name, "missing table [" + name + "]");
      return nullptr;
    }
    if (!i->second.is_table()) {
      fail(i->second.location().line(), name, "expected a table, got " + type_name(i->second));
      return nullptr;
    }
    return &i->second;
  }

  /// Reports every key of `tbl` not in `known`.
  void unknown_keys(const toml::value& tbl, const std::string& prefix,
                    const std::set<std::string>& known) {
    for (const auto& [key, value] : tbl.as_table())
      if (known.count(key) == 0)
        fail(value.location().line(), prefix.empty() ? key : prefix + "." + key, "unknown key");
  }

  /// The value of a required key, or null after reporting it missing.
  const toml::value* required(const toml::value& tbl, const std::string& table_name,
                              const std::string& key) {
    const auto& t = tbl.as_table();
    auto i = t.find(key);
    if (i == t.end()) {
      fail(tbl.location().line(), table_name + "." + key, "missing");
      return nullptr;
    }
    return &i->second;
  }

  std::optional<std::int64_t> integer(const toml::value& tbl, const std::string& table_name,
                                      const std::string& key, std::int64_t min, std::int64_t max) {
    auto* v = required(tbl, table_name, key);
    if (v == nullptr)
      return std::nullopt;
    return integer_value(*v, table_name + "." + key, min, max);
  }

  std::optional<std::int64_t> integer_value(const toml::value& v, const std::string& key,
                                            std::int64_t min, std::int64_t max) {
    if (!v.is_integer()) {
      fail(v.location().line(), key, "expected an integer, got " + type_name(v));
      return std::nullopt;
    }
    auto x = v.as_integer();
    if (x < min || x > max) {
      fail(v.location().line(), key,
           "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got "
               + std::to_string(x));
      return std::nullopt;
    }
    return x;
  }

  /// A number (integer or float) in [min, max].
  std::optional<double> number(const toml::value& tbl, const std::string& table_name,
                               const std::string& key, double min, double max) {
    auto* v = required(tbl, table_name, key);
    if (v == nullptr)
      return std::nullopt;
    if (!v->is_integer() && !v->is_floating()) {
      fail(v->location().line(), table_name + "." + key, "expected a number, got " + type_name(*v));
      return std::nullopt;
    }
    auto x = v->is_integer() ? static_cast<double>(v->as_integer()) : v->as_floating();
    if (!(x >= min && x <= max)) {
      std::ostringstream what;
      what << "must be in [" << min << ", " << max << "], got " << x;
      fail(v->location().line(), table_name + "." + key, what.str());
      return std::nullopt;
    }
    return x;
  }

  /// Whether `tbl` has `key` (optional keys are read only when present).
  static bool has(const toml::value& tbl, const std::string& key) {
    return tbl.as_table().count(key) != 0;
  }

  std::optional<bool> boolean(const toml::value& tbl, const std::string& table_name,
                              const std::string& key) {
    auto* v = required(tbl, table_name, key);
    if (v == nullptr)
      return std::nullopt;
    if (!v->is_boolean()) {
      fail(v->location().line(), table_name + "." + key,
           "expected a boolean, got " + type_name(*v));
      return std::nullopt;
    }
    return v->as_boolean();
  }

  std::optional<std::string> string(const toml::value& tbl, const std::string& table_name,
                                    const std::string& key, bool optional = false) {
    const auto& t = tbl.as_table();
    if (optional && t.find(key) == t.end())
      return std::string{};
    auto* v = required(tbl, table_name, key);
    if (v == nullptr)
      return std::nullopt;
    if (!v->is_string()) {
      fail(v->location().line(), table_name + "." + key, "expected a string, got " + type_name(*v));
      return std::nullopt;
    }
    return v->as_string().str;
  }

  /// An array of strings; each element checked by `check` (which returns an error or "").
  template <class Check>
  std::optional<std::vector<std::string>> strings(const toml::value& tbl,
                                                  const std::string& table_name,
                                                  const std::string& key, Check check) {
    auto* v = required(tbl, table_name, key);
    if (v == nullptr)
      return std::nullopt;
    auto full = table_name + "." + key;
    if (!v->is_array()) {
      fail(v->location().line(), full, "expected an array of strings, got " + type_name(*v));
      return std::nullopt;
    }
    std::vector<std::string> result;
    bool ok = true;
    const auto& xs = v->as_array();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      auto item_key = full + "[" + std::to_string(i) + "]";
      if (!xs[i].is_string()) {
        fail(xs[i].location().line(), item_key, "expected a string, got " + type_name(xs[i]));
        continue;
      }
      auto s = xs[i].as_string().str;
      if (auto err = check(s); !err.empty()) {
        fail(xs[i].location().line(), item_key, err);
        continue;
      }
      result.push_back(std::move(s));
    }
    if (!ok)
      return std::nullopt;
    return result;
  }

  std::size_t line_of(const toml::value& tbl, const std::string& key) {
    const auto& t = tbl.as_table();
    auto i = t.find(key);
    return i == t.end() ? tbl.location().line() : i->second.location().line();
  }

private:
  std::string file_;
  std::vector<config_error>& errors_;
};

/// Assigns `from` to `to` if it has a value (a missing value has been reported already).
template <class To, class From>
void take(To& to, const std::optional<From>& from) {
  if (from)
    to = static_cast<To>(*from);
}

/// toml11's multi-line message, condensed to its first line without the "[error] " prefix.
std::string condense(const std::string& what);

} // namespace qtc
