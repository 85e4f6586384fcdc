#include "sched/rwsem.h"

#include <cassert>

namespace nv::sched {

void RwSem::down_read_test(Scheduler& s) {
  s.point(Point::kDownRead);
  while (writer_ || writers_waiting_ > 0) s.block(waiters_, "rwsem (read)", this);
  ++readers_;
}

void RwSem::up_read_test(Scheduler& s) {
  if (readers_ == 0) {
    s.report("up_read: rwsem not held for reading");
    s.point(Point::kUpRead);
    return;
  }
  if (--readers_ == 0) s.wake_all(waiters_);
  s.point(Point::kUpRead);
}

void RwSem::down_write_test(Scheduler& s) {
  s.point(Point::kDownWrite);
  ++writers_waiting_;
  while (writer_ || readers_ > 0) {
    try {
      s.block(waiters_, "rwsem (write)", this);
    } catch (...) {
      --writers_waiting_;  // a failure or teardown: no longer waiting
      throw;
    }
  }
  --writers_waiting_;
  writer_ = true;
  assert(readers_ == 0);
}

void RwSem::up_write_test(Scheduler& s) {
  if (!writer_) {
    s.report("up_write: rwsem not held for writing");
    s.point(Point::kUpWrite);
    return;
  }
  writer_ = false;
  s.wake_all(waiters_);
  s.point(Point::kUpWrite);
}

}  // namespace nv::sched
