#include "actors/simulation/traffic_recorder.hpp"

#include "actors/support/metric_names.hpp"

namespace qtc {

namespace {

/// The value of `key` in `labels` (empty if absent).
std::string label(const metric_labels& labels, const std::string& key) {
  for (const auto& [k, v] : labels)
    if (k == key)
      return v;
  return {};
}

/// Adds a sent-message counter update to the totals (other families are not recorded).
void record(traffic_totals& totals, const std::string& family, const metric_labels& labels,
            double amount) {
  bool messages = family == metric_names::messages_total;
  if (!messages && family != metric_names::message_bytes_total)
    return;
  if (label(labels, "direction") != "sent")
    return;
  auto& t = totals[label(labels, "command")];
  (messages ? t.messages : t.bytes) += static_cast<std::uint64_t>(amount);
}

} // namespace

metrics_actor::behavior_type traffic_recorder(metrics_actor::pointer,
                                              std::shared_ptr<traffic_totals> totals) {
  return {
      [totals](status_atom, status_verbosity) {
        status_report r;
        std::uint64_t messages = 0;
        for (const auto& [command, t] : *totals)
          messages += t.messages;
        caf::put(r, "messages-sent", static_cast<std::int64_t>(messages));
        return r;
      },
      [](const supervision_event&) {},
      [totals](count_atom, const std::string& family, const metric_labels& labels, double amount) {
        record(*totals, family, labels, amount);
      },
      [totals](count_atom, const std::vector<metric_increment>& increments) {
        for (const auto& x : increments)
          record(*totals, x.family, x.labels, x.amount);
      },
      [](gauge_atom, const std::string&, const metric_labels&, double) {},
      [](observe_atom, const std::string&, const metric_labels&, double) {},
      [](observe_atom, const std::string&, const metric_labels&, const std::vector<double>&) {},
      [](get_atom, metric_atom, const std::vector<metric_labels>& selectors) {
        return std::vector<double>(selectors.size(), 0.0);
      },
      [](put_atom, const health_snapshot&) {},
  };
}

} // namespace qtc
