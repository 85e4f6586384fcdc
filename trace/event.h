// Observations: what an engine reports after each operation.
//
// An Event is a flat, ordered record (kind plus named fields) so that any
// subsystem can report deliveries, drops and refusals without a central enum,
// the runner can compare engines field by field, and the JSON stream prints
// them directly. A Snapshot is the per-namespace state that engines must agree
// on after every operation: counters (named as nstat names them) and gauges
// such as accounted reassembly memory ("mem.v4").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nv::trace {

using EventValue = std::variant<uint64_t, std::string>;

struct Event {
  std::string kind;
  std::vector<std::pair<std::string, EventValue>> fields;

  Event& add(std::string key, EventValue value) {
    fields.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  const EventValue* get(std::string_view key) const;
  friend bool operator==(const Event&, const Event&) = default;
};

// Namespace name -> (counter or gauge name -> value). Absent means 0.
struct Snapshot {
  std::map<std::string, std::map<std::string, uint64_t>, std::less<>> ns;

  uint64_t get(std::string_view ns_name, std::string_view key) const;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// One event as a line of the JSON stream (docs/trace.md, "JSON event stream").
std::string to_json(const Event& event, std::string_view engine, uint32_t line);
// One event as short text for humans: "deliver ns=init family=v4 id=7 ...".
std::string to_text(const Event& event);

}  // namespace nv::trace
