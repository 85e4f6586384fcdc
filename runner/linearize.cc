#include "runner/linearize.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace nv::runner {

std::optional<std::string> history_error(const std::vector<HistoryOp>& history) {
  std::map<uint32_t, size_t> last;  // thread -> its latest op so far, by invoke
  for (size_t i : internal::by_invoke(history)) {
    const HistoryOp& op = history[i];
    if (op.response <= op.invoke) {
      return "op " + std::to_string(i) + " returns at " + std::to_string(op.response) +
             ", not after its invoke at " + std::to_string(op.invoke);
    }
    auto [it, first] = last.try_emplace(op.thread, i);
    if (!first) {
      if (history[it->second].response >= op.invoke) {
        return "ops " + std::to_string(it->second) + " and " + std::to_string(i) + " of thread " +
               std::to_string(op.thread) + " overlap";
      }
      it->second = i;
    }
  }
  return std::nullopt;
}

std::string format_history(const std::vector<HistoryOp>& history,
                           const std::function<std::string(size_t)>& op_text) {
  std::ostringstream out;
  for (size_t i = 0; i < history.size(); ++i) {
    const HistoryOp& op = history[i];
    out << '#' << i << ' ' << op.thread << ": [" << op.invoke << ", " << op.response << ") "
        << op_text(i) << '\n';
  }
  return out.str();
}

namespace internal {

std::vector<size_t> by_invoke(const std::vector<HistoryOp>& history) {
  std::vector<size_t> ranked(history.size());
  for (size_t i = 0; i < ranked.size(); ++i) ranked[i] = i;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](size_t a, size_t b) { return history[a].invoke < history[b].invoke; });
  return ranked;
}

std::vector<size_t> by_response(const std::vector<HistoryOp>& history) {
  std::vector<size_t> ranked(history.size());
  for (size_t i = 0; i < ranked.size(); ++i) ranked[i] = i;
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
    return std::pair(history[a].response, history[a].invoke) <
           std::pair(history[b].response, history[b].invoke);
  });
  return ranked;
}

bool is_chain(const std::vector<HistoryOp>& history, const std::vector<size_t>& ranked) {
  for (size_t r = 1; r < ranked.size(); ++r) {
    if (history[ranked[r - 1]].response >= history[ranked[r]].invoke) return false;
  }
  return true;
}

}  // namespace internal
}  // namespace nv::runner
