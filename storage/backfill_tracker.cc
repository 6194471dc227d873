#include "storage/backfill_tracker.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace healthwire {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

bool Before(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

// The latest activity of a backfill: its last payload, or the sending /
// processing notice when no payload came yet.
absl::Time LastActivity(const v1::Backfill& b) {
  absl::Time last = absl::InfinitePast();
  if (b.has_processing_at()) last = std::max(last, ToTime(b.processing_at()));
  if (b.has_sending_at()) last = std::max(last, ToTime(b.sending_at()));
  if (b.has_last_payload_at()) last = std::max(last, ToTime(b.last_payload_at()));
  return last;
}

}  // namespace

std::optional<uint32_t> ChunkNumberOf(const std::string& trace_id) {
  constexpr char kChunk[] = ":chunk:";
  const size_t at = trace_id.rfind(kChunk);
  if (at == std::string::npos) return std::nullopt;
  const absl::string_view digits = absl::string_view(trace_id).substr(at + sizeof(kChunk) - 1);
  uint32_t n = 0;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &n)) {
    return std::nullopt;
  }
  return n;
}

std::optional<BackfillDelivery> BackfillDeliveryOf(const v1::Event& event) {
  BackfillDelivery delivery;
  if (event.type() == v1::EVENT_TYPE_LARGE_REQUEST_PROCESSING ||
      event.type() == v1::EVENT_TYPE_LARGE_REQUEST_SENDING) {
    delivery.kind = event.type() == v1::EVENT_TYPE_LARGE_REQUEST_SENDING
                        ? BackfillDelivery::Kind::kSending
                        : BackfillDelivery::Kind::kProcessing;
    delivery.reference = event.connection().reference();
    if (delivery.reference.empty()) delivery.reference = event.terra_reference();
    if (delivery.reference.empty()) return std::nullopt;
    delivery.expected_payloads = std::max(0, event.connection().expected_payloads());
    return delivery;
  }
  // Data records only (the types GetLatest/ListRecords serve).
  const bool is_data = event.type() >= v1::EVENT_TYPE_ACTIVITY &&
                       event.type() <= v1::EVENT_TYPE_HEALTH_OBSERVATION;
  if (!is_data || event.terra_reference().empty()) return std::nullopt;
  delivery.kind = BackfillDelivery::Kind::kPayload;
  delivery.reference = event.terra_reference();
  delivery.chunk = ChunkNumberOf(event.trace_id());
  delivery.trace_id = event.trace_id();
  return delivery;
}

void ApplyDeliveryToBackfill(const BackfillDelivery& delivery, const v1::Event& event,
                             uint64_t stored_revision, bool first_of_delivery,
                             std::optional<v1::Backfill>* backfill) {
  if (!backfill->has_value()) {
    backfill->emplace();
    (*backfill)->set_reference(delivery.reference);
    (*backfill)->set_state(v1::Backfill::STATE_PROCESSING);
  }
  v1::Backfill& b = **backfill;
  if (b.user_id().empty() && !event.user().user_id().empty()) {
    b.set_user_id(event.user().user_id());
  }
  if (b.user_id() == event.user().user_id()) {
    if (!event.user().provider().empty()) b.set_provider(event.user().provider());
    if (!event.user().reference_id().empty()) b.set_reference_id(event.user().reference_id());
  }
  if (b.state() == v1::Backfill::STATE_PROCESSING &&
      delivery.kind != BackfillDelivery::Kind::kProcessing) {
    b.set_state(v1::Backfill::STATE_SENDING);
  }
  switch (delivery.kind) {
    case BackfillDelivery::Kind::kProcessing:
      if (!b.has_processing_at()) *b.mutable_processing_at() = event.received_at();
      return;
    case BackfillDelivery::Kind::kSending:
      if (!b.has_sending_at()) *b.mutable_sending_at() = event.received_at();
      if (delivery.expected_payloads > 0) b.set_expected_payloads(delivery.expected_payloads);
      return;
    case BackfillDelivery::Kind::kPayload:
      break;
  }
  if (stored_revision != 0) {
    if (b.first_revision() == 0 || stored_revision < b.first_revision()) {
      b.set_first_revision(stored_revision);
    }
    b.set_last_revision(std::max(b.last_revision(), stored_revision));
  }
  if (!first_of_delivery) return;
  if (!b.has_first_payload_at() || Before(event.received_at(), b.first_payload_at())) {
    *b.mutable_first_payload_at() = event.received_at();
  }
  if (!b.has_last_payload_at() || Before(b.last_payload_at(), event.received_at())) {
    *b.mutable_last_payload_at() = event.received_at();
  }
  bool seen = false;
  if (delivery.chunk.has_value()) {
    auto* chunks = b.mutable_chunks();
    auto at = std::lower_bound(chunks->begin(), chunks->end(), *delivery.chunk);
    seen = at != chunks->end() && *at == *delivery.chunk;
    if (!seen) chunks->Add(*delivery.chunk);
    std::sort(chunks->begin(), chunks->end());
  } else {
    auto* ids = b.mutable_unnumbered_trace_ids();
    seen = std::find(ids->begin(), ids->end(), delivery.trace_id) != ids->end();
    if (!seen) *ids->Add() = delivery.trace_id;
  }
  if (seen) {
    b.set_redelivered_payloads(b.redelivered_payloads() + 1);
  } else {
    b.set_received_payloads(b.received_payloads() + 1);
  }
}

bool BackfillIsComplete(const v1::Backfill& backfill) {
  return backfill.expected_payloads() > 0 &&
         backfill.received_payloads() >= backfill.expected_payloads();
}

v1::Event BackfillCompleteEvent(const v1::Backfill& backfill,
                                const google::protobuf::Timestamp& received_at) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_BACKFILL_COMPLETE);
  event.set_terra_type("backfill_complete");
  event.set_record_key(backfill.reference());
  event.mutable_user()->set_user_id(backfill.user_id());
  if (!backfill.provider().empty()) event.mutable_user()->set_provider(backfill.provider());
  if (!backfill.reference_id().empty()) {
    event.mutable_user()->set_reference_id(backfill.reference_id());
  }
  *event.mutable_received_at() = received_at;
  event.set_terra_reference(backfill.reference());
  *event.mutable_backfill() = backfill;
  return event;
}

v1::Backfill::State ReportedBackfillState(const v1::Backfill& backfill, absl::Time now,
                                          absl::Duration stall_after) {
  if (backfill.state() == v1::Backfill::STATE_COMPLETE) return backfill.state();
  if (stall_after > absl::ZeroDuration() && now - LastActivity(backfill) > stall_after) {
    return v1::Backfill::STATE_STALLED;
  }
  return backfill.state();
}

}  // namespace healthwire
