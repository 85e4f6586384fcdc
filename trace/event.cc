#include "trace/event.h"

namespace nv::trace {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 15];
      out += kHex[c & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_value(std::string& out, const EventValue& v, bool json) {
  if (const auto* n = std::get_if<uint64_t>(&v)) {
    out += std::to_string(*n);
  } else if (json) {
    append_json_string(out, std::get<std::string>(v));
  } else {
    out += std::get<std::string>(v);
  }
}

}  // namespace

const EventValue* Event::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

uint64_t Snapshot::get(std::string_view ns_name, std::string_view key) const {
  auto it = ns.find(ns_name);
  if (it == ns.end()) return 0;
  auto jt = it->second.find(std::string(key));
  return jt == it->second.end() ? 0 : jt->second;
}

std::string to_json(const Event& event, std::string_view engine, uint32_t line) {
  std::string out = "{\"event\":";
  append_json_string(out, event.kind);
  out += ",\"engine\":";
  append_json_string(out, engine);
  out += ",\"line\":" + std::to_string(line);
  for (const auto& [key, value] : event.fields) {
    out += ',';
    append_json_string(out, key);
    out += ':';
    append_value(out, value, true);
  }
  out += '}';
  return out;
}

std::string to_text(const Event& event) {
  std::string out = event.kind;
  for (const auto& [key, value] : event.fields) {
    out += ' ' + key + '=';
    append_value(out, value, false);
  }
  return out;
}

}  // namespace nv::trace
