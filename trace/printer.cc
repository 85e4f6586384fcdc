#include "trace/printer.h"

namespace nv::trace {
namespace {

std::string format_value(const FieldSpec& field, const Value& value) {
  switch (field.kind) {
    case Kind::kUint:
      return std::to_string(std::get<uint64_t>(value));
    case Kind::kWord:
      return (*field.words)[std::get<Word>(value).index];
    case Kind::kName:
      return std::get<std::string>(value);
    case Kind::kDuration:
      return format_duration_ms(std::get<uint64_t>(value));
    case Kind::kAddr:
      return format_addr(std::get<Addr>(value));
    case Kind::kHex64:
      return format_hex64(std::get<uint64_t>(value));
    case Kind::kData:
      return format_data(std::get<Data>(value));
  }
  return {};
}

}  // namespace

std::string print(const Op& op) {
  std::string out = op.async ? "go " + op.spec->name : op.spec->name;
  for (size_t i = 0; i < op.spec->fields.size(); ++i) {
    const FieldSpec& field = op.spec->fields[i];
    if (!op.args[i]) continue;
    out += ' ';
    if (!field.positional) out += field.key + '=';
    out += format_value(field, *op.args[i]);
  }
  return out;
}

std::string print(const Trace& trace) {
  std::string out(kTraceHeader);
  out += '\n';
  for (const Op& op : trace.ops) {
    out += print(op);
    out += '\n';
  }
  return out;
}

}  // namespace nv::trace
