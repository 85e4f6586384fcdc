#include "runner/linearize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

namespace nv::runner {
namespace {

// A history being written: each op's interval, and what the toy object was
// asked and answered (Op), which the toy models read by index.
template <class Op>
struct Recorded {
  std::vector<HistoryOp> history;
  std::vector<Op> ops;
  size_t add(uint32_t thread, uint64_t invoke, uint64_t response, Op op) {
    history.push_back({.thread = thread, .invoke = invoke, .response = response});
    ops.push_back(op);
    return ops.size() - 1;
  }
};

// An atomic register of ints, initially 0: write v; read -> v.
struct RegOp {
  enum Kind { kWrite, kRead } kind;
  int value;
};

class Register {
 public:
  explicit Register(const std::vector<RegOp>& ops) : ops_(&ops) {}
  bool step(size_t i) {
    const RegOp& op = (*ops_)[i];
    if (op.kind == RegOp::kWrite) value_ = op.value;
    return value_ == op.value;
  }
  uint64_t hash() const { return static_cast<uint64_t>(value_); }
  bool operator==(const Register& o) const { return value_ == o.value_; }

 private:
  const std::vector<RegOp>* ops_;
  int value_ = 0;
};

// A FIFO queue of ints: enq v; deq -> the head, or nullopt when empty.
struct QueueOp {
  enum Kind { kEnq, kDeq } kind;
  std::optional<int> value;
};

class Queue {
 public:
  explicit Queue(const std::vector<QueueOp>& ops) : ops_(&ops) {}
  bool step(size_t i) {
    const QueueOp& op = (*ops_)[i];
    if (op.kind == QueueOp::kEnq) {
      items_.push_back(*op.value);
      return true;
    }
    std::optional<int> head;
    if (!items_.empty()) {
      head = items_.front();
      items_.pop_front();
    }
    return head == op.value;
  }
  uint64_t hash() const {
    uint64_t h = items_.size();
    for (int v : items_) h = internal::mix(h, static_cast<uint64_t>(v));
    return h;
  }
  bool operator==(const Queue& o) const { return items_ == o.items_; }

 private:
  const std::vector<QueueOp>* ops_;
  std::deque<int> items_;
};

// A counter, initially 0: add d (no answer); fetch_add d -> the old value;
// read -> the value.
struct CounterOp {
  enum Kind { kAdd, kFetchAdd, kRead } kind;
  int64_t arg;  // d, or the value read
  int64_t observed = 0;
};

class Counter {
 public:
  explicit Counter(const std::vector<CounterOp>& ops) : ops_(&ops) {}
  bool step(size_t i) {
    const CounterOp& op = (*ops_)[i];
    const int64_t old = value_;
    if (op.kind != CounterOp::kRead) value_ += op.arg;
    if (op.kind == CounterOp::kAdd) return true;
    return (op.kind == CounterOp::kRead ? op.arg : op.observed) == old;
  }
  uint64_t hash() const { return static_cast<uint64_t>(value_); }
  bool operator==(const Counter& o) const { return value_ == o.value_; }

 private:
  const std::vector<CounterOp>* ops_;
  int64_t value_ = 0;
};

RegOp write(int v) {
  return {RegOp::kWrite, v};
}
RegOp read(int v) {
  return {RegOp::kRead, v};
}
QueueOp enq(int v) {
  return {QueueOp::kEnq, v};
}
QueueOp deq(std::optional<int> v) {
  return {QueueOp::kDeq, v};
}
CounterOp add(int64_t d) {
  return {CounterOp::kAdd, d};
}
CounterOp read_counter(int64_t v) {
  return {CounterOp::kRead, v};
}

// The checks every verdict must pass, whatever the history: `order` (a witness
// or a prefix) names each op at most once, puts no op before one that returned
// before it was invoked, and replays through the model.
template <class Model>
void expect_valid_prefix(const std::vector<HistoryOp>& history, Model model,
                         const std::vector<size_t>& order) {
  std::vector<bool> used(history.size(), false);
  for (size_t k = 0; k < order.size(); ++k) {
    ASSERT_LT(order[k], history.size());
    EXPECT_FALSE(used[order[k]]) << "op " << order[k] << " placed twice";
    used[order[k]] = true;
    for (size_t j = k + 1; j < order.size(); ++j) {
      EXPECT_FALSE(history[order[j]].response < history[order[k]].invoke)
          << "op " << order[j] << " returned before op " << order[k]
          << " was invoked but is placed after it";
    }
    EXPECT_TRUE(model.step(order[k])) << "the model refuses op " << order[k] << " at " << k;
  }
  // Nothing left out may have had to precede a placed op.
  for (size_t i = 0; i < history.size(); ++i) {
    if (used[i]) continue;
    for (size_t placed : order) {
      EXPECT_FALSE(history[i].response < history[placed].invoke)
          << "op " << placed << " placed while op " << i << ", which precedes it, is not";
    }
  }
}

// A verdict "not linearizable": `longest` is a valid prefix after which the
// model refuses `failing_op`.
template <class Model>
void expect_refused(const std::vector<HistoryOp>& history, Model model, const LinearizeResult& r) {
  EXPECT_FALSE(r.linearizable);
  EXPECT_FALSE(r.budget_exhausted);
  expect_valid_prefix(history, model, r.longest);
  ASSERT_LT(r.failing_op, history.size());
  for (size_t op : r.longest) {
    ASSERT_NE(op, r.failing_op);
    model.step(op);
  }
  EXPECT_FALSE(model.step(r.failing_op));
}

template <class Model>
void expect_witness(const std::vector<HistoryOp>& history, const Model& initial,
                    const LinearizeResult& r) {
  ASSERT_TRUE(r.linearizable);
  EXPECT_FALSE(r.budget_exhausted);
  EXPECT_EQ(r.order.size(), history.size());
  expect_valid_prefix(history, initial, r.order);
}

// Ops one after another: the fast path replays them once, in order.
TEST(Linearize, SequentialHistoryTakesOnePass) {
  Recorded<RegOp> h;
  h.add(0, 0, 1, write(1));
  h.add(1, 2, 3, read(1));
  h.add(0, 4, 5, write(2));
  h.add(1, 6, 7, read(2));
  LinearizeResult r = linearize(h.history, Register(h.ops));
  expect_witness(h.history, Register(h.ops), r);
  EXPECT_EQ(r.order, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(r.states_explored, 4u);

  h.ops[3] = read(1);
  r = linearize(h.history, Register(h.ops));
  expect_refused(h.history, Register(h.ops), r);
  EXPECT_EQ(r.longest, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(r.failing_op, 3u);
}

TEST(Linearize, EmptyHistoryIsLinearizable) {
  std::vector<RegOp> ops;
  LinearizeResult r = linearize({}, Register(ops));
  EXPECT_TRUE(r.linearizable);
  EXPECT_TRUE(r.order.empty());
}

// A write overlapping two reads, one seeing the old value, one the new:
// the only witness places the later-invoked read first.
//   0: [0, 10) write 1
//   1: [1, 3)  read -> 1
//   2: [2, 4)  read -> 0
TEST(Linearize, OverlappingRegisterHistoryIsLinearizable) {
  Recorded<RegOp> h;
  h.add(0, 0, 10, write(1));
  h.add(1, 1, 3, read(1));
  h.add(2, 2, 4, read(0));
  LinearizeResult r = linearize(h.history, Register(h.ops));
  expect_witness(h.history, Register(h.ops), r);
  EXPECT_EQ(r.order, (std::vector<size_t>{2, 0, 1}));
}

// A read that returned before a write was invoked sees that write's value.
// The write overlaps another read, so this is not the sequential fast path.
TEST(Linearize, ReadOfALaterWriteIsNotLinearizable) {
  Recorded<RegOp> h;
  h.add(0, 0, 2, write(1));
  h.add(1, 3, 5, read(2));
  h.add(0, 6, 9, write(2));
  h.add(2, 7, 8, read(2));
  LinearizeResult r = linearize(h.history, Register(h.ops));
  expect_refused(h.history, Register(h.ops), r);
  EXPECT_EQ(r.longest, (std::vector<size_t>{0}));
  EXPECT_EQ(r.failing_op, 1u);
}

// A read invoked after write 2 returned sees write 1's value; a concurrent
// read makes the search non-trivial. The same read overlapping write 2 is fine.
TEST(Linearize, StaleReadAfterACompletedWriteIsNotLinearizable) {
  Recorded<RegOp> h;
  h.add(0, 0, 2, write(1));
  h.add(0, 3, 5, write(2));
  h.add(1, 6, 8, read(1));
  h.add(2, 4, 7, read(2));
  LinearizeResult r = linearize(h.history, Register(h.ops));
  expect_refused(h.history, Register(h.ops), r);
  EXPECT_EQ(r.longest, (std::vector<size_t>{0, 1, 3}));
  EXPECT_EQ(r.failing_op, 2u);

  h.history[2].invoke = 4;  // now overlaps write 2: read 1 before it
  r = linearize(h.history, Register(h.ops));
  expect_witness(h.history, Register(h.ops), r);
}

// Real-time order is strict: an op invoked at the step another returns is
// concurrent with it, and may take effect first.
TEST(Linearize, TouchingIntervalsAreConcurrent) {
  Recorded<RegOp> h;
  h.add(0, 0, 5, write(1));
  h.add(1, 5, 7, read(0));
  LinearizeResult r = linearize(h.history, Register(h.ops));
  expect_witness(h.history, Register(h.ops), r);
  EXPECT_EQ(r.order, (std::vector<size_t>{1, 0}));

  h.history[1].invoke = 6;
  r = linearize(h.history, Register(h.ops));
  expect_refused(h.history, Register(h.ops), r);
  EXPECT_EQ(r.failing_op, 1u);
}

// Enqueue 1 is invoked first but must take effect after enqueue 2, which a
// dequeue returns before enqueue 1 returns (the search tries candidates in
// response order, so it finds the witness that places enqueue 1 last of
// the three overlapping ops):
//   0: [0, 10) enq 1
//   1: [1, 5)  enq 2
//   2: [6, 8)  deq -> 2
//   3: [11, 12) deq -> 1
TEST(Linearize, QueueReordersOverlappingEnqueues) {
  Recorded<QueueOp> h;
  h.add(0, 0, 10, enq(1));
  h.add(1, 1, 5, enq(2));
  h.add(2, 6, 8, deq(2));
  h.add(1, 11, 12, deq(1));
  LinearizeResult r = linearize(h.history, Queue(h.ops));
  expect_witness(h.history, Queue(h.ops), r);
  EXPECT_EQ(r.order, (std::vector<size_t>{1, 2, 0, 3}));

  // Once enqueue 1 returns before enqueue 2 is invoked, FIFO forbids it.
  h.history[0].response = 1;
  h.history[1].invoke = 2;
  h.history[2].response = 10;
  r = linearize(h.history, Queue(h.ops));
  expect_refused(h.history, Queue(h.ops), r);
  EXPECT_EQ(r.longest, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.failing_op, 2u);
}

TEST(Linearize, DequeueOfAnEmptyQueue) {
  Recorded<QueueOp> h;
  h.add(0, 0, 4, enq(7));
  h.add(1, 1, 2, deq(std::nullopt));
  h.add(1, 3, 5, deq(7));
  LinearizeResult r = linearize(h.history, Queue(h.ops));
  expect_witness(h.history, Queue(h.ops), r);
  EXPECT_EQ(r.order, (std::vector<size_t>{1, 0, 2}));
}

// 4 threads of 8 adds each, every add overlapping the adds of the other
// threads near it, then a read of the wrong total: every interleaving fails
// at the read. The counter's value is the same whichever way a placed set was
// reached, so the memo cuts the search to placed sets, which are down-sets: at
// most 9^4 of them, each with at most 4 minimal ops (with the memo switched
// off, this search ran past a million model steps).
TEST(Linearize, MemoizationBoundsCommutingOps) {
  constexpr uint32_t kThreads = 4;
  constexpr uint64_t kPerThread = 8;
  for (int64_t total : {32, 31}) {
    SCOPED_TRACE(total);
    Recorded<CounterOp> h;
    for (uint64_t j = 0; j < kPerThread; ++j) {
      for (uint32_t t = 0; t < kThreads; ++t) h.add(t, 10 * j + 3 * t, 10 * j + 3 * t + 9, add(1));
    }
    const size_t read_op = h.add(0, 1000, 1001, read_counter(total));
    const size_t n = h.history.size();
    ASSERT_EQ(n, 33u);
    LinearizeResult r = linearize(h.history, Counter(h.ops));
    EXPECT_FALSE(r.budget_exhausted);
    EXPECT_LE(r.states_explored, 9u * 9 * 9 * 9 * kThreads + 1);
    EXPECT_LT(r.states_explored * 100'000, uint64_t{1} << n);
    if (total == 32) {
      expect_witness(h.history, Counter(h.ops), r);
    } else {
      expect_refused(h.history, Counter(h.ops), r);
      EXPECT_EQ(r.failing_op, read_op);
      EXPECT_EQ(r.longest.size(), n - 1);
    }
  }
}

// 20 adds all concurrent and a read of the wrong total: 2^20 placed sets,
// more than the budget allows. Out of budget is no verdict, even when the
// history is linearizable.
TEST(Linearize, BudgetExhaustionIsReported) {
  Recorded<CounterOp> h;
  for (uint32_t t = 0; t < 20; ++t) h.add(t, 0, 10, add(1));
  h.add(0, 20, 21, read_counter(21));
  LinearizeResult r = linearize(h.history, Counter(h.ops), {.max_states = 1000});
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_FALSE(r.linearizable);
  EXPECT_EQ(r.states_explored, 1000u);
  EXPECT_EQ(r.failing_op, kNoOp);

  h.ops.back() = read_counter(20);
  r = linearize(h.history, Counter(h.ops), {.max_states = 5});
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_FALSE(r.linearizable);
  EXPECT_TRUE(r.order.empty());
  r = linearize(h.history, Counter(h.ops), {.max_states = 21});
  expect_witness(h.history, Counter(h.ops), r);

  // The sequential fast path keeps to the budget too.
  Recorded<CounterOp> seq;
  for (uint64_t i = 0; i < 10; ++i) seq.add(0, 2 * i, 2 * i + 1, add(1));
  r = linearize(seq.history, Counter(seq.ops), {.max_states = 3});
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_FALSE(r.linearizable);
}

// A concurrent counter run simulated step by step: each op is invoked, takes
// effect (its linearization point, where its answer is recorded) and returns
// at three distinct steps, threads interleaved at random.
Recorded<CounterOp> random_counter_run(uint64_t seed, uint32_t threads, size_t ops) {
  std::mt19937_64 rng(seed);
  Recorded<CounterOp> h;
  enum Phase { kIdle, kInvoked, kApplied };
  std::vector<Phase> phase(threads, kIdle);
  std::vector<size_t> current(threads);
  int64_t value = 0;
  size_t started = 0, finished = 0;
  for (uint64_t now = 0; finished < ops; ++now) {
    const uint32_t t = static_cast<uint32_t>(rng() % threads);
    if (phase[t] == kIdle && started < ops) {
      const bool is_read = rng() % 4 == 0;
      current[t] =
          h.add(t, now, 0,
                is_read ? read_counter(0)
                        : CounterOp{CounterOp::kFetchAdd, static_cast<int64_t>(rng() % 3)});
      phase[t] = kInvoked;
      ++started;
    } else if (phase[t] == kInvoked) {
      CounterOp& op = h.ops[current[t]];
      if (op.kind == CounterOp::kRead) op.arg = value;
      op.observed = value;
      if (op.kind == CounterOp::kFetchAdd) value += op.arg;
      phase[t] = kApplied;
    } else if (phase[t] == kApplied) {
      h.history[current[t]].response = now;
      phase[t] = kIdle;
      ++finished;
    }
  }
  return h;
}

// Histories of 150 ops (more than one word of the placed set): each run is
// linearizable with a witness that respects real-time order; with one answer
// changed to a value the counter never had, none is.
TEST(Linearize, RandomRunsGiveRealTimeWitnesses) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    Recorded<CounterOp> h = random_counter_run(seed, 4, 150);
    ASSERT_FALSE(history_error(h.history));
    ASSERT_FALSE(internal::is_chain(h.history, internal::by_invoke(h.history)));  // a search
    LinearizeResult r = linearize(h.history, Counter(h.ops));
    expect_witness(h.history, Counter(h.ops), r);

    const size_t broken = seed * 7 % h.ops.size();
    h.ops[broken].observed = h.ops[broken].arg = -1;
    h.ops[broken].kind = CounterOp::kRead;
    r = linearize(h.history, Counter(h.ops));
    expect_refused(h.history, Counter(h.ops), r);
    EXPECT_EQ(std::count(r.longest.begin(), r.longest.end(), broken), 0);
  }
}

TEST(LinearizeHistory, MalformedHistoriesAreNamed) {
  EXPECT_EQ(history_error({{.thread = 0, .invoke = 0, .response = 2},
                           {.thread = 1, .invoke = 1, .response = 3},
                           {.thread = 0, .invoke = 3, .response = 4}}),
            std::nullopt);
  EXPECT_EQ(history_error({{.thread = 0, .invoke = 5, .response = 5}}),
            "op 0 returns at 5, not after its invoke at 5");
  EXPECT_EQ(history_error({{.thread = 1, .invoke = 0, .response = 4},
                           {.thread = 1, .invoke = 4, .response = 6}}),
            "ops 0 and 1 of thread 1 overlap");
}

TEST(LinearizeHistory, FormatDrawsOneLinePerOp) {
  Recorded<RegOp> h;
  h.add(0, 0, 10, write(1));
  h.add(1, 1, 3, read(1));
  auto text = [&](size_t i) {
    return (h.ops[i].kind == RegOp::kWrite ? "write " : "read -> ") +
           std::to_string(h.ops[i].value);
  };
  EXPECT_EQ(format_history(h.history, text),
            "#0 0: [0, 10) write 1\n"
            "#1 1: [1, 3) read -> 1\n");
}

}  // namespace
}  // namespace nv::runner
