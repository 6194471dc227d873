#include "server/webhook/request_buffer_budget.h"

namespace healthwire {

bool RequestBufferBudget::TryReserve(uint64_t bytes) {
  uint64_t current = reserved_.load(std::memory_order_relaxed);
  do {
    if (bytes > capacity_ || current > capacity_ - bytes) return false;
  } while (!reserved_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
  return true;
}

void RequestBufferBudget::Release(uint64_t bytes) {
  reserved_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace healthwire
