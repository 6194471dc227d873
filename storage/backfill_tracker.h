// How stored events change the backfill they belong to (issue 13).
//
// A Terra backfill (historical request) is large_request_processing, then
// large_request_sending with `reference` and `expected_payloads`, then that
// many data webhooks whose terra-reference header is the reference and whose
// X-Terra-Trace-Id ends in `:chunk:<n>`. Terra delivers at least once and out
// of order, so any of these may come first, and a chunk may come twice: a
// chunk counts once, by its number (a payload without a chunk number counts
// once by its whole trace id).
//
// Pure functions (no I/O, no clock): ApplyBatch calls them inside the commit,
// so a backfill's state changes in the same WriteBatch as the payload that
// changed it, and the BACKFILL_COMPLETE change gets the next revision in the
// same commit as the last payload.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_STORAGE_BACKFILL_TRACKER_H_
#define HEALTHWIRE_STORAGE_BACKFILL_TRACKER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// What one event says about a backfill.
struct BackfillDelivery {
  enum class Kind { kProcessing, kSending, kPayload };
  Kind kind = Kind::kPayload;
  std::string reference;
  // kSending: expected_payloads.
  int32_t expected_payloads = 0;
  // kPayload: the `:chunk:<n>` number, or nullopt (then `trace_id` counts).
  std::optional<uint32_t> chunk;
  std::string trace_id;
};

// The backfill `event` belongs to, if any: large_request_processing /
// large_request_sending (reference from the body, else the terra-reference
// header), or a data record delivered with a terra-reference header.
std::optional<BackfillDelivery> BackfillDeliveryOf(const v1::Event& event);

// `n` when `trace_id` ends in ":chunk:<n>" (n a decimal number).
std::optional<uint32_t> ChunkNumberOf(const std::string& trace_id);

// Applies one delivery to `backfill` (created when empty). `event` is the
// delivery's event; `stored_revision` is the revision it stored (0 when it
// was identical or stale); `first_of_delivery` is false for the second and
// later records of the same webhook (the payload was counted already).
void ApplyDeliveryToBackfill(const BackfillDelivery& delivery, const v1::Event& event,
                             uint64_t stored_revision, bool first_of_delivery,
                             std::optional<v1::Backfill>* backfill);

// Every expected payload has arrived (and the expected count is known).
bool BackfillIsComplete(const v1::Backfill& backfill);

// The BACKFILL_COMPLETE change for `backfill` (state COMPLETE, completed_at
// and complete_revision set by the caller before it is stored).
v1::Event BackfillCompleteEvent(const v1::Backfill& backfill,
                                const google::protobuf::Timestamp& received_at);

// The state a read reports: STALLED when not complete and nothing arrived
// for `stall_after` (zero: never stalled) before `now`.
v1::Backfill::State ReportedBackfillState(const v1::Backfill& backfill, absl::Time now,
                                          absl::Duration stall_after);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_BACKFILL_TRACKER_H_
