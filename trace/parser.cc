#include "trace/parser.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "trace/section_names.h"

namespace nv::trace {
namespace {

struct Token {
  std::string_view text;
  uint32_t col;  // 1-based byte column
};

struct Error {
  uint32_t col;
  std::string message;
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == '#') break;
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
           line[i] != '#')
      ++i;
    tokens.push_back({line.substr(start, i - start), uint32_t(start + 1)});
  }
  return tokens;
}

std::string range_text(const FieldSpec& f) {
  return "(" + std::to_string(f.min) + ".." + std::to_string(f.max) + ")";
}

// Parses one field's text into *out; on error returns the message.
std::optional<std::string> parse_value(const FieldSpec& f, std::string_view text, Value* out) {
  std::string error;
  switch (f.kind) {
    case Kind::kUint: {
      auto n = parse_uint(text, &error);
      if (!n) return error + " for '" + f.key + "'";
      if (*n < f.min || *n > f.max)
        return "value out of range for '" + f.key + "' " + range_text(f);
      *out = *n;
      return std::nullopt;
    }
    case Kind::kWord: {
      for (uint32_t i = 0; i < f.words->size(); ++i) {
        if ((*f.words)[i] == text) {
          *out = Word{i};
          return std::nullopt;
        }
      }
      std::string known;
      for (const auto& w : *f.words) known += (known.empty() ? "" : "|") + w;
      if (known.size() > 120) known = known.substr(0, 117) + "...";
      return "unknown " + f.key + " '" + excerpt(text) + "' (expected " + known + ")";
    }
    case Kind::kName:
      if (!valid_name(text)) return "bad namespace name '" + excerpt(text) + "'";
      *out = std::string(text);
      return std::nullopt;
    case Kind::kDuration: {
      auto ms = parse_duration_ms(text, &error);
      if (!ms) return error;
      *out = *ms;
      return std::nullopt;
    }
    case Kind::kAddr: {
      auto a = parse_addr(text, &error);
      if (!a) return error + " for '" + f.key + "'";
      *out = *a;
      return std::nullopt;
    }
    case Kind::kHex64: {
      auto n = parse_hex64(text, &error);
      if (!n) return error;
      *out = *n;
      return std::nullopt;
    }
    case Kind::kData: {
      auto d = parse_data(text, &error);
      if (!d) return error;
      *out = std::move(*d);
      return std::nullopt;
    }
  }
  return "unsupported field kind";
}

// Live names per scope.
using LiveNames = std::map<std::string, std::set<std::string, std::less<>>, std::less<>>;

// An op's names against those live before it (`live`, updated): a name it
// uses must be alive, one it creates must not be, and "init" stays.
std::optional<FieldError> use_names(const Op& op, LiveNames& live) {
  for (size_t i = 0; i < op.spec->fields.size(); ++i) {
    const FieldSpec& f = op.spec->fields[i];
    if (f.kind != Kind::kName || !op.args[i]) continue;
    const std::string& name = op.name(i);
    std::set<std::string, std::less<>>& names = live[f.scope];
    const bool alive = names.count(name) != 0;
    const std::string what = (f.scope == kScopeNetns ? "namespace" : f.scope) + " '" + name + "'";
    switch (f.ns_use) {
      case NsUse::kRef:
        if (!alive) return FieldError{i, what + " does not exist here"};
        break;
      case NsUse::kCreate:
        if (alive) return FieldError{i, what + " already exists"};
        names.insert(name);
        break;
      case NsUse::kDestroy:
        if (f.scope == kScopeNetns && name == "init")
          return FieldError{i, "namespace 'init' cannot be deleted"};
        if (!alive) return FieldError{i, what + " does not exist here"};
        names.erase(name);
        break;
    }
  }
  return std::nullopt;
}

// use_names(), then the rule of concurrent sections (trace/section_names.h).
std::optional<FieldError> use_names(const Op& op, LiveNames& live, SectionNames& section) {
  if (auto i = section.conflict(op)) {
    const FieldSpec& f = op.spec->fields[*i];
    return FieldError{*i, f.scope + " '" + op.name(*i) +
                              "' is created or ended by another 'go' line of this section: "
                              "racing lines cannot share it"};
  }
  if (auto fe = use_names(op, live)) return fe;
  section.add(op);
  return std::nullopt;
}

class LineParser {
 public:
  LineParser(const Registry& registry, LiveNames& live, SectionNames& section)
      : registry_(registry), live_(live), section_(section) {}

  // Parses one non-empty token list into *op: an operation, or "go" and
  // an operation to start on a thread of its own.
  std::optional<Error> parse(const std::vector<Token>& all_tokens, Op* op) {
    std::vector<Token> tokens = all_tokens;
    if (tokens[0].text == "go") {
      if (tokens.size() == 1) return Error{tokens[0].col, "'go' needs an operation to start"};
      op->async = true;
      tokens.erase(tokens.begin());
    }
    size_t next = 0;
    const OpSpec* spec = nullptr;
    if (tokens.size() >= 2) {
      spec = registry_.find(std::string(tokens[0].text) + " " + std::string(tokens[1].text));
      if (spec) next = 2;
    }
    if (!spec) {
      spec = registry_.find(tokens[0].text);
      if (!spec) return Error{tokens[0].col, "unknown operation '" + excerpt(tokens[0].text) + "'"};
      next = 1;
    }
    if (op->async && (spec->expect || spec->runner_only))
      return Error{tokens[0].col, "'" + spec->name + "' cannot be started with 'go'"};
    op->spec = spec;
    op->args.assign(spec->fields.size(), std::nullopt);
    std::vector<uint32_t> cols(spec->fields.size(), 0);
    uint32_t end_col = tokens.back().col + uint32_t(tokens.back().text.size());

    for (size_t i = 0; i < spec->fields.size(); ++i) {
      const FieldSpec& f = spec->fields[i];
      if (!f.positional) continue;
      if (next >= tokens.size() || tokens[next].text.find('=') != std::string_view::npos) {
        uint32_t col = next < tokens.size() ? tokens[next].col : end_col;
        return Error{col, "missing " + f.key + " for '" + spec->name + "'"};
      }
      Value v;
      if (auto e = parse_value(f, tokens[next].text, &v)) return Error{tokens[next].col, *e};
      op->args[i] = std::move(v);
      cols[i] = tokens[next].col;
      ++next;
    }
    for (; next < tokens.size(); ++next) {
      const Token& t = tokens[next];
      size_t eq = t.text.find('=');
      if (eq == std::string_view::npos)
        return Error{t.col, "unexpected '" + excerpt(t.text) + "' (expected key=value)"};
      std::string_view key = t.text.substr(0, eq);
      size_t idx = spec->field_index(key);
      if (idx == SIZE_MAX || spec->fields[idx].positional)
        return Error{t.col, "unknown key '" + excerpt(key) + "' for '" + spec->name + "'"};
      if (op->args[idx]) return Error{t.col, "duplicate key '" + excerpt(key) + "'"};
      Value v;
      if (auto e = parse_value(spec->fields[idx], t.text.substr(eq + 1), &v))
        return Error{uint32_t(t.col + eq + 1), *e};
      op->args[idx] = std::move(v);
      cols[idx] = t.col;
    }
    for (size_t i = 0; i < spec->fields.size(); ++i) {
      if (spec->fields[i].required && !op->args[i])
        return Error{end_col, "missing key '" + spec->fields[i].key + "' for '" + spec->name + "'"};
    }
    if (spec->check) {
      if (auto fe = spec->check(*op)) {
        uint32_t col = fe->field < cols.size() && cols[fe->field] ? cols[fe->field] : tokens[0].col;
        return Error{col, fe->message};
      }
    }
    return check_namespaces(*op, cols);
  }

 private:
  std::optional<Error> check_namespaces(const Op& op, const std::vector<uint32_t>& cols) {
    if (auto fe = use_names(op, live_, section_)) return Error{cols[fe->field], fe->message};
    return std::nullopt;
  }

  const Registry& registry_;
  LiveNames& live_;
  SectionNames& section_;
};

}  // namespace

// Where the parser stands: the next line, the names live so far.
struct Parser::State {
  LiveNames live = {{std::string(kScopeNetns), {"init"}}};
  SectionNames section;
  bool seen_first = false;
  uint32_t line_no = 0;
  size_t pos = 0;
};

Parser::Parser(std::string_view text, const Registry& registry)
    : text_(text), registry_(registry), state_(std::make_unique<State>()) {}

Parser::~Parser() = default;

void Parser::rewind() {
  state_ = std::make_unique<State>();
  error_.reset();
}

bool Parser::has_expectations() const {
  // An expectation's line starts with "expect" after blanks (docs/trace.md);
  // a false positive (a comment) only keeps history that is not needed.
  for (size_t at = text_.find("expect"); at != std::string_view::npos;
       at = text_.find("expect", at + 1)) {
    size_t start = at;
    while (start > 0 && (text_[start - 1] == ' ' || text_[start - 1] == '\t')) --start;
    if (start == 0 || text_[start - 1] == '\n') return true;
  }
  return false;
}

bool Parser::next(Op* op) {
  State& st = *state_;
  LineParser parser(registry_, st.live, st.section);
  while (!error_ && st.pos <= text_.size()) {
    size_t nl = text_.find('\n', st.pos);
    if (nl == std::string_view::npos) nl = text_.size();
    std::string_view line = text_.substr(st.pos, nl - st.pos);
    st.pos = nl + 1;
    ++st.line_no;
    std::vector<Token> tokens = tokenize(line);
    if (tokens.empty()) continue;
    if (!st.seen_first) {
      st.seen_first = true;
      if (tokens[0].text == "netverify-trace") {
        if (tokens.size() != 2 || tokens[1].text != "1") {
          uint32_t col = tokens.size() > 1 ? tokens[1].col : tokens[0].col;
          error_ = Diagnostic{st.line_no, col, "unsupported trace version (expected 1)"};
          return false;
        }
        continue;
      }
    }
    *op = Op{};
    op->line = st.line_no;
    if (auto e = parser.parse(tokens, op)) {
      error_ = Diagnostic{st.line_no, e->col, e->message};
      return false;
    }
    return true;
  }
  return false;
}

ParseResult parse(std::string_view text, const Registry& registry) {
  ParseResult result;
  Parser parser(text, registry);
  for (Op op; parser.next(&op);) result.trace.ops.push_back(std::move(op));
  result.error = parser.error();
  return result;
}

std::string excerpt(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '\0':
        out += "\\0";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += char(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::string format_diagnostic(std::string_view file, const Diagnostic& d) {
  return std::string(file) + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": " +
         d.message;
}

ParseResult parse_file(const std::string& path, const Registry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParseResult r;
    r.error = Diagnostic{0, 0, "cannot read file"};
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), registry);
}

std::optional<std::string> check_ops(std::span<const Op> ops) {
  LiveNames live = {{std::string(kScopeNetns), {"init"}}};
  SectionNames section;
  for (const Op& op : ops) {
    if (op.async && (op.spec->expect || op.spec->runner_only))
      return "'" + op.spec->name + "' cannot be started with 'go'";
    if (op.spec->check)
      if (auto fe = op.spec->check(op)) return fe->message;
    if (auto fe = use_names(op, live, section)) return fe->message;
  }
  return std::nullopt;
}

}  // namespace nv::trace
