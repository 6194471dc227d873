// The EventStore's own query and result types: what a read asks for and what
// it answers, independent of the wire API. The gRPC service (server/) adapts
// healthwire.v1 requests to these and these back to responses, the way etcd's
// mvcc takes RangeOptions and answers a RangeResult beside its RPC types.
// Records and connections are the stored messages themselves (v1::Event,
// v1::Connection): the store keeps exactly those.
//
// Plain values; thread-compatible.
#ifndef HEALTHWIRE_STORAGE_STORE_QUERIES_H_
#define HEALTHWIRE_STORAGE_STORE_QUERIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// The person a query is about: Terra's user_id (one wearable connection) or
// the customer's reference_id (every connection of one person).
struct StoreSubject {
  enum class Kind { kUnset, kUserId, kReferenceId };

  static StoreSubject UserId(std::string id) { return {Kind::kUserId, std::move(id)}; }
  static StoreSubject ReferenceId(std::string id) {
    return {Kind::kReferenceId, std::move(id)};
  }

  Kind kind = Kind::kUnset;
  std::string id;
};

// GetLatest: the record of `type` with the greatest metadata.start_time.
struct LatestQuery {
  StoreSubject subject;
  // A data type (EVENT_TYPE_ACTIVITY ... EVENT_TYPE_HEALTH_OBSERVATION).
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  // Leave raw_json out of the answer (it can be megabytes).
  bool omit_raw_json = false;
};

struct LatestResult {
  v1::Event event;
  // The store revision the read saw; stream from store_revision + 1.
  uint64_t store_revision = 0;
  // The store's timeline (EventStore::TimelineId).
  std::string store_timeline;
};

// The same answer with the record as serialized v1::Event bytes, exactly as
// stored (without raw_json when the query omits it): what the gRPC GetLatest
// forwards without decoding and re-encoding the record.
struct SerializedLatestResult {
  std::string serialized_event;
  uint64_t store_revision = 0;
  std::string store_timeline;
};

// ListRecords: records of one type, newest start_time first, paged.
struct ListQuery {
  StoreSubject subject;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  // Optional range on metadata.start_time: from inclusive, to exclusive.
  std::optional<absl::Time> start_time_from;
  std::optional<absl::Time> start_time_to;
  // 0 means 100, more than 1000 means 1000, negative is InvalidArgument.
  int32_t page_size = 0;
  // A previous ListResult's next_page_token; empty for the first page.
  std::string page_token;
  bool omit_raw_json = false;
};

struct ListResult {
  std::vector<v1::Event> events;
  // Empty when there is nothing more.
  std::string next_page_token;
  uint64_t store_revision = 0;
  std::string store_timeline;
};

// GetUser: the connection record of a user_id, or every connection of a
// reference_id.
struct UserResult {
  std::vector<v1::Connection> connections;
  uint64_t store_revision = 0;
  std::string store_timeline;
};

// CreateCheckpoint.
struct CheckpointResult {
  // Where the checkpoint is, on the store's machine.
  std::string path;
  // Every change up to this revision is in it.
  uint64_t store_revision = 0;
  // The timeline it was taken on; a store opened from it starts a new one.
  std::string store_timeline;
};

// ListS3Fetches: s3_payload pings and their fetches, oldest ping first.
struct FetchListQuery {
  // STATE_UNSPECIFIED: every state.
  v1::S3Fetch::State state = v1::S3Fetch::STATE_UNSPECIFIED;
  uint64_t after_ping_revision = 0;
  // 0 means 100, more than 1000 means 1000, negative is InvalidArgument.
  int32_t page_size = 0;
};

struct FetchListResult {
  // URLs without their query (the pre-signed credentials).
  std::vector<v1::S3Fetch> fetches;
  uint64_t store_revision = 0;
  std::string store_timeline;
};

// GetBackfill / ListBackfills: states as of the read (STALLED computed).
struct BackfillResult {
  std::vector<v1::Backfill> backfills;
  uint64_t store_revision = 0;
  std::string store_timeline;
};

// Open (not complete) backfills, for metrics.
struct OpenBackfillCounts {
  uint64_t open = 0;
  uint64_t stalled = 0;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_STORE_QUERIES_H_
