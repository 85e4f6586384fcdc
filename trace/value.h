// Typed argument values of trace operations and their text forms.
//
// A trace argument is one of a handful of kinds (number, word from a
// vocabulary, namespace name, duration, address, data spec). Each kind has one
// parser and one canonical printer here, so every operation that any subsystem
// registers is parsed and printed the same way.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nv::trace {

enum class Kind : uint8_t {
  kUint,      // decimal or 0x hexadecimal, range-checked
  kWord,      // one word of a registered vocabulary ("v4", "ipv4.ipfrag_time", ...)
  kName,      // a namespace name: [A-Za-z0-9_.-]{1,32}
  kDuration,  // 250ms, 30s, 2m; stored in milliseconds
  kAddr,      // IPv4 dotted quad or IPv6 text
  kData,      // pattern | fill:NN | hex:...
  kHex64,     // 1..16 hex digits without prefix (a digest); printed as 16 digits
};

// An IPv4 or IPv6 address. IPv4 addresses use the first four bytes.
struct Addr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  friend auto operator<=>(const Addr&, const Addr&) = default;
};

// What a fragment's payload bytes are (see docs/trace.md, "data=").
struct Data {
  enum class Mode : uint8_t { kPattern, kFill, kHex };
  Mode mode = Mode::kPattern;
  uint8_t fill = 0;
  std::vector<uint8_t> hex;
  friend bool operator==(const Data&, const Data&) = default;
};

// A word is stored as its index in the field's vocabulary.
struct Word {
  uint32_t index = 0;
  friend bool operator==(const Word&, const Word&) = default;
};

using Value = std::variant<uint64_t, Word, std::string, Addr, Data>;

// Parsers return std::nullopt and set *error on malformed text.
std::optional<uint64_t> parse_uint(std::string_view text, std::string* error);
std::optional<uint64_t> parse_duration_ms(std::string_view text, std::string* error);
std::optional<Addr> parse_addr(std::string_view text, std::string* error);
std::optional<Data> parse_data(std::string_view text, std::string* error);
std::optional<uint64_t> parse_hex64(std::string_view text, std::string* error);
bool valid_name(std::string_view text);

std::string format_duration_ms(uint64_t ms);
std::string format_addr(const Addr& addr);
std::string format_data(const Data& data);
std::string format_hex64(uint64_t value);

}  // namespace nv::trace
