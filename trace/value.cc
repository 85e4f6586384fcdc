#include "trace/value.h"

#include <arpa/inet.h>

#include <cstring>

namespace nv::trace {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uint64_t> parse_uint(std::string_view text, std::string* error) {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) {
    *error = "bad number";
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    int d = hex_digit(c);
    if (d < 0 || unsigned(d) >= base) {
      *error = "bad number";
      return std::nullopt;
    }
    if (value > (UINT64_MAX - unsigned(d)) / base) {
      *error = "number out of range";
      return std::nullopt;
    }
    value = value * base + unsigned(d);
  }
  return value;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text, std::string* error) {
  uint64_t scale;
  if (text.ends_with("ms")) {
    scale = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1000;
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60'000;
    text.remove_suffix(1);
  } else {
    *error = "bad duration (expected e.g. 250ms, 30s, 2m)";
    return std::nullopt;
  }
  auto n = parse_uint(text, error);
  if (!n) {
    *error = "bad duration (expected e.g. 250ms, 30s, 2m)";
    return std::nullopt;
  }
  // Bounded so that the virtual clock cannot overflow over a long trace.
  if (*n > (uint64_t{1} << 40) / scale) {
    *error = "duration out of range";
    return std::nullopt;
  }
  return *n * scale;
}

std::optional<Addr> parse_addr(std::string_view text, std::string* error) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.size() >= sizeof(buf)) {
    *error = "bad address";
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  Addr addr;
  if (inet_pton(AF_INET, buf, addr.bytes.data()) == 1) return addr;
  if (inet_pton(AF_INET6, buf, addr.bytes.data()) == 1) {
    addr.v6 = true;
    return addr;
  }
  *error = "bad address";
  return std::nullopt;
}

std::optional<Data> parse_data(std::string_view text, std::string* error) {
  Data data;
  if (text == "pattern") return data;
  auto hex_bytes = [&](std::string_view digits) -> bool {
    if (digits.size() % 2 != 0) return false;
    for (size_t i = 0; i < digits.size(); i += 2) {
      int hi = hex_digit(digits[i]), lo = hex_digit(digits[i + 1]);
      if (hi < 0 || lo < 0) return false;
      data.hex.push_back(uint8_t(hi * 16 + lo));
    }
    return true;
  };
  if (text.starts_with("fill:")) {
    if (text.size() == 7 && hex_bytes(text.substr(5))) {
      data.mode = Data::Mode::kFill;
      data.fill = data.hex[0];
      data.hex.clear();
      return data;
    }
    *error = "bad data (fill:NN takes two hex digits)";
    return std::nullopt;
  }
  if (text.starts_with("hex:")) {
    data.mode = Data::Mode::kHex;
    if (hex_bytes(text.substr(4))) return data;
    *error = "bad data (hex: takes an even number of hex digits)";
    return std::nullopt;
  }
  *error = "bad data (expected pattern, fill:NN or hex:...)";
  return std::nullopt;
}

std::optional<uint64_t> parse_hex64(std::string_view text, std::string* error) {
  if (text.empty() || text.size() > 16) {
    *error = "bad digest (expected 1 to 16 hex digits)";
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    int d = hex_digit(c);
    if (d < 0) {
      *error = "bad digest (expected 1 to 16 hex digits)";
      return std::nullopt;
    }
    value = value << 4 | unsigned(d);
  }
  return value;
}

bool valid_name(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string format_duration_ms(uint64_t ms) {
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[i] = kDigits[value & 15];
  return out;
}

std::string format_addr(const Addr& addr) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(addr.v6 ? AF_INET6 : AF_INET, addr.bytes.data(), buf, sizeof(buf));
  return buf;
}

std::string format_data(const Data& data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  switch (data.mode) {
    case Data::Mode::kPattern:
      return "pattern";
    case Data::Mode::kFill:
      return std::string("fill:") + kDigits[data.fill >> 4] + kDigits[data.fill & 15];
    case Data::Mode::kHex: {
      std::string out = "hex:";
      for (uint8_t b : data.hex) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
      }
      return out;
    }
  }
  return {};
}

}  // namespace nv::trace
