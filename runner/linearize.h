// Linearizability checking: is a history recorded from a concurrent impl
// equivalent to some sequential run of the reference model?
//
// A history is a list of operations, each with the thread that issued it and
// the logical times it was invoked and returned. It is linearizable when its
// operations can be put in one total order that (1) respects real-time order
// (op a precedes op b whenever a returned before b was invoked:
// a.response < b.invoke) and (2) replayed through the model from its initial
// state, gives every op the observation the impl recorded for it. `linearize`
// searches for such an order the way Wing & Gong do ("Testing and verifying
// concurrent objects", JPDC 17(1), 1993): depth-first, trying at each step
// only the "minimal" ops (those no op still to place must precede), and
// backtracking when the model disagrees. It prunes with Lowe's memo ("Testing
// for linearizability", CCPE 29(4), 2017): a configuration (set of ops placed,
// model state) seen before cannot lead to a witness the second time. Porcupine
// and Knossos check histories the same way. Deciding linearizability is
// NP-complete (Gibbons & Korach, "Testing shared memories", SIAM J. Comput.
// 26(4), 1997), so the search has a budget, and running out of it is reported
// as such, never as a verdict.
//
// This layer knows no subsystem: the model is any value type whose
// `step(i)` applies op i of the history and compares the model's observation
// with the recorded one (the caller's closure knows what op i is).
//
// Cost: each configuration is expanded at most once. The placed sets the
// search can reach are down-sets of the real-time order; since one thread's
// ops form a chain, there are at most prod_t (ops of thread t + 1) of them,
// and at most one op per thread is minimal. With T threads, n ops and S
// distinct model states per placed set, the search makes at most
// (n/T + 1)^T * S * T model steps, each costing O(n) to find the minimal ops,
// a model copy, a step, a hash and O(n/64) for the set: polynomial in n for a
// fixed number of threads, exponential in T. The memo holds one set and one
// model per configuration reached.
// A history whose ops do not overlap at all is checked by one sequential pass.
#pragma once

#include <algorithm>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace nv::runner {

// One operation of a recorded concurrent history. Times are logical
// (scheduler steps). Ops whose intervals touch (a.response == b.invoke) are
// concurrent: only a.response < b.invoke orders them.
struct HistoryOp {
  uint32_t thread = 0;    // who issued it
  uint64_t invoke = 0;    // when it started
  uint64_t response = 0;  // when it returned; > invoke
};

// What `linearize` checks against. A copyable value type: `step(i)` applies op
// i of the history to the model and returns whether the model's observation
// equals the one recorded for op i; `hash()` and `==` over the model's state
// key the memo (states that compare equal must hash equal).
template <class M>
concept LinearizeModel = std::copyable<M> && std::equality_comparable<M> &&
    requires(M model, const M& c, size_t i) {
  { model.step(i) } -> std::same_as<bool>;
  { c.hash() } -> std::convertible_to<uint64_t>;
};

struct LinearizeOptions {
  uint64_t max_states = 1'000'000;  // model steps the search may try
};

inline constexpr size_t kNoOp = std::numeric_limits<size_t>::max();

struct LinearizeResult {
  bool linearizable = false;
  std::vector<size_t> order;      // a witness order, when linearizable
  std::vector<size_t> longest;    // when not: the longest linearizable prefix found
  size_t failing_op = kNoOp;      // when not: a minimal op the model refused after `longest`
                                  // (kNoOp when the budget ran out)
  uint64_t states_explored = 0;   // model steps tried
  bool budget_exhausted = false;  // no verdict: `linearizable` is false and means "unknown"
};

// Why the history is malformed (an op that does not return after it is
// invoked; two ops of one thread that overlap), or nullopt. `linearize`
// requires a well-formed history.
std::optional<std::string> history_error(const std::vector<HistoryOp>& history);

// One line per op, in history order: "#index thread: [invoke, response) text".
std::string format_history(const std::vector<HistoryOp>& history,
                           const std::function<std::string(size_t)>& op_text);

namespace internal {

// A set of op indices, one bit each, for any number of ops. One code path for
// every size (rather than a uint64_t below 65 ops) so the tests of short
// histories exercise the code that long ones run.
class OpSet {
 public:
  explicit OpSet(size_t n) : words_((n + 63) / 64, 0) {}
  bool contains(size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  void insert(size_t i) { words_[i / 64] |= uint64_t{1} << (i % 64); }
  void erase(size_t i) { words_[i / 64] &= ~(uint64_t{1} << (i % 64)); }
  uint64_t hash() const;
  bool operator==(const OpSet&) const = default;

 private:
  std::vector<uint64_t> words_;
};

// Combines v into h (the splitmix64 finalizer over both).
inline uint64_t mix(uint64_t h, uint64_t v) {
  uint64_t x = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t OpSet::hash() const {
  uint64_t h = words_.size();
  for (uint64_t w : words_) h = mix(h, w);
  return h;
}

// Op indices by invoke time (ties by index): the order candidates are tried in.
std::vector<size_t> by_invoke(const std::vector<HistoryOp>& history);
// Op indices by response time (ties by invoke, then index).
std::vector<size_t> by_response(const std::vector<HistoryOp>& history);

// Whether `ranked` (by_invoke) is a chain in real-time order: each op returns
// before the next one is invoked, so it is the only possible linearization.
bool is_chain(const std::vector<HistoryOp>& history, const std::vector<size_t>& ranked);

// The search of one history; `linearize` below is its entry point.
template <LinearizeModel Model>
class Linearizer {
 public:
  Linearizer(const std::vector<HistoryOp>& history, const Model& initial,
             const LinearizeOptions& options)
      : history_(history),
        initial_(initial),
        options_(options),
        ranked_(by_invoke(history)),
        tries_(by_response(history)) {}

  LinearizeResult run() {
    if (is_chain(history_, ranked_)) return sequential_pass();
    return search();
  }

 private:
  // A configuration of the search, the key of Lowe's memo.
  struct Config {
    OpSet placed;
    Model state;
    bool operator==(const Config&) const = default;
  };
  struct ConfigHash {
    size_t operator()(const Config& c) const { return mix(c.placed.hash(), c.state.hash()); }
  };
  // One op placed on the current path: its rank in ranked_, and the model
  // state before it (restored when the search backtracks over it).
  struct Frame {
    size_t rank;
    Model before;
  };

  // Counts one model step; false (and the result marked) when over budget.
  bool spend() {
    if (result_.states_explored >= options_.max_states) {
      result_.budget_exhausted = true;
      return false;
    }
    ++result_.states_explored;
    return true;
  }

  // The fast path: the history is a chain, so replay it in that order.
  LinearizeResult sequential_pass() {
    Model state = initial_;
    for (size_t op : ranked_) {
      if (!spend()) return std::move(result_);
      if (!state.step(op)) {
        result_.failing_op = op;
        return std::move(result_);
      }
      result_.longest.push_back(op);
    }
    result_.linearizable = true;
    result_.order = std::move(result_.longest);
    result_.longest.clear();
    return std::move(result_);
  }

  // The earliest response among the ops not placed: an op is minimal exactly
  // when it was invoked no later than that (no unplaced op returned before it).
  uint64_t minimal_bound(const OpSet& placed) const {
    uint64_t bound = std::numeric_limits<uint64_t>::max();
    for (size_t i = 0; i < history_.size(); ++i) {
      if (!placed.contains(i)) bound = std::min(bound, history_[i].response);
    }
    return bound;
  }

  // Tries the minimal ops of try-rank `from` on, in response order (an
  // atomic op's effect falls in its interval, so the order ops returned in
  // is the likeliest witness: a correct history is then walked straight
  // through). On the first that the model accepts and that leads to an
  // unseen configuration, adds it to `placed` and returns its try-rank and
  // the model state after it.
  std::optional<std::pair<size_t, Model>> advance(const Model& state, OpSet& placed, size_t from) {
    const uint64_t bound = minimal_bound(placed);
    for (size_t r = from; r < tries_.size(); ++r) {
      const size_t op = tries_[r];
      if (placed.contains(op) || history_[op].invoke > bound) continue;
      if (!spend()) return std::nullopt;
      Model next = state;
      if (!next.step(op)) continue;
      placed.insert(op);
      if (seen_.insert(Config{placed, next}).second) return std::pair{r, std::move(next)};
      placed.erase(op);
    }
    return std::nullopt;
  }

  // A dead end deeper than any before: remember the path and the first
  // minimal op (every minimal op failed to step here: had one stepped into a
  // configuration seen before, that earlier visit went deeper than this).
  void note_dead_end(const std::vector<Frame>& path, const OpSet& placed) {
    if (result_.failing_op != kNoOp && path.size() <= result_.longest.size()) return;
    result_.longest.clear();
    for (const Frame& f : path) result_.longest.push_back(tries_[f.rank]);
    const uint64_t bound = minimal_bound(placed);
    for (size_t op : ranked_) {
      if (!placed.contains(op) && history_[op].invoke <= bound) {
        result_.failing_op = op;
        return;
      }
    }
  }

  // Wing & Gong's backtracking with Lowe's memo, as a loop over an explicit
  // path (a history of thousands of ops must not exhaust the call stack).
  LinearizeResult search() {
    Model state = initial_;
    OpSet placed(history_.size());
    std::vector<Frame> path;
    size_t from = 0;  // the first rank still to try at the current depth
    while (path.size() < history_.size()) {
      std::optional<std::pair<size_t, Model>> step = advance(state, placed, from);
      if (result_.budget_exhausted) {
        if (path.size() > result_.longest.size()) {
          result_.longest.clear();
          for (const Frame& f : path) result_.longest.push_back(tries_[f.rank]);
        }
        result_.failing_op = kNoOp;
        return std::move(result_);
      }
      if (step) {
        path.push_back(Frame{step->first, std::move(state)});
        state = std::move(step->second);
        from = 0;
        continue;
      }
      note_dead_end(path, placed);
      if (path.empty()) return std::move(result_);
      placed.erase(tries_[path.back().rank]);
      state = std::move(path.back().before);
      from = path.back().rank + 1;
      path.pop_back();
    }
    result_.linearizable = true;
    result_.longest.clear();
    result_.failing_op = kNoOp;
    for (const Frame& f : path) result_.order.push_back(tries_[f.rank]);
    return std::move(result_);
  }

  const std::vector<HistoryOp>& history_;
  const Model& initial_;
  const LinearizeOptions& options_;
  const std::vector<size_t> ranked_;  // by invoke: the chain test and the fast path
  const std::vector<size_t> tries_;   // by response: the search's order of candidates
  std::unordered_set<Config, ConfigHash> seen_;
  LinearizeResult result_;
};

}  // namespace internal

// Whether `history` is linearizable with respect to `initial` (see the top of
// this file). Deterministic: candidates are tried in response order.
template <LinearizeModel Model>
LinearizeResult linearize(const std::vector<HistoryOp>& history, const Model& initial,
                          const LinearizeOptions& options = {}) {
  assert(!history_error(history));
  return internal::Linearizer<Model>(history, initial, options).run();
}

}  // namespace nv::runner
