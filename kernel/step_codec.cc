#include "kernel/step_codec.h"

#include <cstdint>

namespace nv::kernel {
namespace {

void put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void put(std::string& out, uint64_t v) {
  put(out, std::string_view(std::to_string(v)));
}

void put_event(std::string& out, const trace::Event& e) {
  put(out, std::string_view(e.kind));
  put(out, uint64_t(e.fields.size()));
  for (const auto& [key, value] : e.fields) {
    put(out, std::string_view(key));
    if (const auto* n = std::get_if<uint64_t>(&value)) {
      put(out, std::string_view("u"));
      put(out, *n);
    } else {
      put(out, std::string_view("s"));
      put(out, std::string_view(std::get<std::string>(value)));
    }
  }
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  size_t left() const { return s_.size(); }

  bool str(std::string* out) {
    size_t colon = s_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return false;
    uint64_t n = 0;
    for (size_t i = 0; i < colon; ++i) {
      if (s_[i] < '0' || s_[i] > '9') return false;
      n = n * 10 + uint64_t(s_[i] - '0');
    }
    if (n > s_.size() - colon - 1) return false;
    out->assign(s_.substr(colon + 1, n));
    s_.remove_prefix(colon + 1 + n);
    return true;
  }

  bool num(uint64_t* out) {
    std::string s;
    if (!str(&s) || s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      uint64_t next = v * 10 + uint64_t(c - '0');
      if (next / 10 != v) return false;
      v = next;
    }
    *out = v;
    return true;
  }

  bool event(trace::Event* e) {
    uint64_t n;
    if (!str(&e->kind) || !num(&n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      std::string key, tag;
      if (!str(&key) || !str(&tag)) return false;
      if (tag == "u") {
        uint64_t v;
        if (!num(&v)) return false;
        e->add(std::move(key), v);
      } else if (tag == "s") {
        std::string v;
        if (!str(&v)) return false;
        e->add(std::move(key), std::move(v));
      } else {
        return false;
      }
    }
    return true;
  }

  bool events(std::vector<trace::Event>* out) {
    uint64_t n;
    if (!num(&n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      trace::Event e;
      if (!event(&e)) return false;
      out->push_back(std::move(e));
    }
    return true;
  }

 private:
  std::string_view s_;
};

}  // namespace

std::string encode_step(const KernelStep& step) {
  std::string out;
  put(out, std::string_view("step"));
  put(out, uint64_t(step.op_index));
  put(out, uint64_t(step.line));
  put(out, uint64_t(step.events.size()));
  for (const auto& e : step.events) put_event(out, e);
  put(out, uint64_t(step.counters.ns.size()));
  for (const auto& [ns, values] : step.counters.ns) {
    put(out, std::string_view(ns));
    put(out, uint64_t(values.size()));
    for (const auto& [name, value] : values) {
      put(out, std::string_view(name));
      put(out, value);
    }
  }
  return out;
}

std::string encode_end(const std::vector<trace::Event>& events) {
  std::string out;
  put(out, std::string_view("end"));
  put(out, uint64_t(events.size()));
  for (const auto& e : events) put_event(out, e);
  return out;
}

std::string encode_fail(KernelResult::Status status, const std::string& message) {
  std::string out;
  put(out, std::string_view("fail"));
  put(out,
      std::string_view(status == KernelResult::Status::kUnavailable ? "unavailable" : "failed"));
  put(out, std::string_view(message));
  return out;
}

namespace {

// One record into *result; false (and *result as it was) when it is
// malformed or cut short.
bool decode_record(Reader& r, KernelResult* result) {
  std::string kind;
  if (!r.str(&kind)) return false;
  if (kind == "step") {
    KernelStep step;
    uint64_t index, line, n_ns;
    if (!r.num(&index) || !r.num(&line) || line > UINT32_MAX) return false;
    step.op_index = size_t(index);
    step.line = uint32_t(line);
    if (!r.events(&step.events) || !r.num(&n_ns)) return false;
    for (uint64_t i = 0; i < n_ns; ++i) {
      std::string ns;
      uint64_t n;
      if (!r.str(&ns) || !r.num(&n)) return false;
      auto& values = step.counters.ns[ns];
      for (uint64_t k = 0; k < n; ++k) {
        std::string name;
        uint64_t v;
        if (!r.str(&name) || !r.num(&v)) return false;
        values[name] = v;
      }
    }
    result->steps.push_back(std::move(step));
    return true;
  }
  if (kind == "end") {
    std::vector<trace::Event> events;
    if (!r.events(&events)) return false;
    result->end_events = std::move(events);
    return true;
  }
  if (kind == "fail") {
    std::string status, message;
    if (!r.str(&status) || !r.str(&message)) return false;
    if (status == "unavailable")
      result->status = KernelResult::Status::kUnavailable;
    else if (status == "failed")
      result->status = KernelResult::Status::kFailed;
    else
      return false;
    result->message = std::move(message);
    return true;
  }
  return false;
}

}  // namespace

size_t decode_records(std::string_view stream, KernelResult* result) {
  Reader r(stream);
  size_t done = 0;
  while (!r.done() && decode_record(r, result)) done = stream.size() - r.left();
  return done;
}

}  // namespace nv::kernel
