// RequestBufferBudget: one gateway-wide limit on the bytes of request bodies
// held in memory at once (being read, waiting for a worker, converting or
// being committed).
//
// Without it, N connections each declaring a large body make the gateway
// hold N large bodies: 50 connections x 60 MB was 2.8 GB of RSS. A request
// reserves its declared Content-Length (a chunked one reserves as it grows)
// before its body is read and releases it when it is answered; when the
// budget is spent, the session waits briefly for room and then answers 503 +
// Retry-After. A single body never needs more than the budget, since the
// budget is at least the largest accepted body (checked at start).
//
// Thread-safe (lock-free counters).
#ifndef HEALTHWIRE_SERVER_WEBHOOK_REQUEST_BUFFER_BUDGET_H_
#define HEALTHWIRE_SERVER_WEBHOOK_REQUEST_BUFFER_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace healthwire {

class RequestBufferBudget {
 public:
  explicit RequestBufferBudget(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Takes `bytes` from the budget when they fit; false (nothing taken)
  // otherwise.
  bool TryReserve(uint64_t bytes);
  void Release(uint64_t bytes);

  uint64_t capacity() const { return capacity_; }
  uint64_t reserved() const { return reserved_.load(std::memory_order_relaxed); }
  // Requests that got 503 because the budget stayed full.
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }
  void CountRefusal() { refusals_.fetch_add(1, std::memory_order_relaxed); }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> reserved_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_REQUEST_BUFFER_BUDGET_H_
