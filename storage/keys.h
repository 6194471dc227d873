// The RocksDB key layout of the EventStore: every key the store writes is
// built and parsed here, and nowhere else.
//
// Column families and their keys:
//   records    RecordKey(user_id, type, record_key)      -> serialized v1::Event
//   by_start   StartIndexKey(kind, subject_id, type, start_micros, user_id,
//                            record_key)                  -> empty
//   changelog  RevisionKey(revision)                      -> serialized v1::Event
//   meta       kLastRevisionMetaKey                       -> EncodeRevision(rev)
//   meta       kOldestRetainedMetaKey                     -> EncodeRevision(rev)
//
// Encodings keep byte order equal to logical order, so prefix scans and range
// scans are plain iterator bounds:
// - a string component is its bytes with 0x00 escaped as 0x00 0xFF, then the
//   terminator 0x00 0x01. No encoded component is a prefix of another, and
//   "a" < "a\0" < "ab" holds after encoding, for any bytes (user ids are not
//   under our control).
// - an event type is a 4-byte big-endian unsigned number (EventType values are
//   stable and never negative).
// - a revision is an 8-byte big-endian unsigned number.
// - a start instant is unix microseconds as an 8-byte big-endian int64 with the
//   sign bit flipped, so negative instants sort before positive ones.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef HEALTHWIRE_STORAGE_KEYS_H_
#define HEALTHWIRE_STORAGE_KEYS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace healthwire {
namespace keys {

// ---- Components ----------------------------------------------------------

// Appends `value` in the order-preserving string encoding described above.
void AppendOrderedString(absl::string_view value, std::string* out);
// Reads one ordered string from the front of `*in` and advances `*in` past
// it. False (and `*in` unspecified) when `*in` does not start with one.
bool ConsumeOrderedString(absl::string_view* in, std::string* value);

void AppendUint32BigEndian(uint32_t value, std::string* out);
bool ConsumeUint32BigEndian(absl::string_view* in, uint32_t* value);

void AppendUint64BigEndian(uint64_t value, std::string* out);
bool ConsumeUint64BigEndian(absl::string_view* in, uint64_t* value);

// int64 in 8 bytes whose unsigned byte order is the signed numeric order.
void AppendOrderedInt64(int64_t value, std::string* out);
bool ConsumeOrderedInt64(absl::string_view* in, int64_t* value);

// ---- Start instants --------------------------------------------------------

// Where records whose start_time is empty or unparseable sit in the start-time
// index: below every real instant, so they are still listed (last, newest
// first) but never win GetLatest over a record with a real start time.
inline constexpr int64_t kUnknownStartMicros = std::numeric_limits<int64_t>::min();

// Parses an RFC 3339 timestamp ("2026-07-01T07:04:11.000000+01:00", "...Z")
// into unix microseconds (sub-microsecond digits are truncated). nullopt when
// it does not parse.
std::optional<int64_t> ParseStartTimeMicros(absl::string_view start_time);

// The index position of a start_time: ParseStartTimeMicros, or
// kUnknownStartMicros when it does not parse.
int64_t StartInstantMicros(absl::string_view start_time);

// ---- records ---------------------------------------------------------------

std::string RecordKey(absl::string_view user_id, uint32_t type,
                      absl::string_view record_key);
// Every RecordKey of `user_id` starts with this.
std::string RecordUserPrefix(absl::string_view user_id);

struct DecodedRecordKey {
  std::string user_id;
  uint32_t type = 0;
  std::string record_key;
};
// False when `key` is not exactly a RecordKey.
bool DecodeRecordKey(absl::string_view key, DecodedRecordKey* out);

// ---- by_start --------------------------------------------------------------

// Which id of a person the index entry is filed under. The byte values are part
// of the on-disk format.
enum class SubjectKind : char {
  kUserId = 'u',
  kReferenceId = 'r',
};

// Every index key of (kind, subject_id, type) starts with this; the rest is
// the start instant, then (user_id, record_key) to make the key unique (one
// reference_id spans several Terra users).
std::string StartIndexPrefix(SubjectKind kind, absl::string_view subject_id,
                             uint32_t type);
// Every index key of (kind, subject_id), of any type, starts with this.
std::string StartIndexSubjectPrefix(SubjectKind kind, absl::string_view subject_id);

std::string StartIndexKey(SubjectKind kind, absl::string_view subject_id,
                          uint32_t type, int64_t start_micros,
                          absl::string_view user_id, absl::string_view record_key);

// The smallest index key of (kind, subject_id, type) whose start instant is
// >= start_micros: a range bound for scans by time.
std::string StartIndexBound(SubjectKind kind, absl::string_view subject_id,
                            uint32_t type, int64_t start_micros);

struct DecodedStartIndexKey {
  SubjectKind kind = SubjectKind::kUserId;
  std::string subject_id;
  uint32_t type = 0;
  int64_t start_micros = 0;
  std::string user_id;
  std::string record_key;
};
// False when `key` is not exactly a StartIndexKey.
bool DecodeStartIndexKey(absl::string_view key, DecodedStartIndexKey* out);

// ---- changelog -------------------------------------------------------------

std::string RevisionKey(uint64_t revision);
// False when `key` is not exactly a RevisionKey.
bool DecodeRevisionKey(absl::string_view key, uint64_t* revision);

// ---- users (connections) ---------------------------------------------------

// users      UserKey(user_id)                  -> serialized v1::Connection
std::string UserKey(absl::string_view user_id);
// user_refs  UserReferenceKey(ref, user_id)    -> empty
std::string UserReferencePrefix(absl::string_view reference_id);
std::string UserReferenceKey(absl::string_view reference_id, absl::string_view user_id);
// The user_id of a UserReferenceKey; false when `key` is not one.
bool DecodeUserReferenceKey(absl::string_view key, std::string* user_id);

// ---- user_changes (which revisions hold a user's data; erasure) -----------

// user_changes  UserChangeKey(user_id, revision)  -> empty
// One entry per change-log entry that names the user (its user, or the old
// user of a user_reauth), so an erasure finds the person's changes with one
// prefix scan instead of reading the whole change log.
std::string UserChangePrefix(absl::string_view user_id);
std::string UserChangeKey(absl::string_view user_id, uint64_t revision);
// The revision of a UserChangeKey; false when `key` is not one.
bool DecodeUserChangeKey(absl::string_view key, uint64_t* revision);
// ---- fetches (s3_payload pings, issue 13) -----------------------------------

// fetches    FetchKey(ping_revision)          -> serialized v1::S3Fetch
// fetches    PendingFetchKey(ping_revision)   -> empty, only while PENDING
// The pending keys are a small index the fetcher scans at start and on
// every poll; the state keys stay for the API.
inline constexpr char kFetchKeyPrefix = 'f';
inline constexpr char kPendingFetchKeyPrefix = 'p';
std::string FetchKey(uint64_t ping_revision);
std::string PendingFetchKey(uint64_t ping_revision);
// The revision of a FetchKey / PendingFetchKey with `prefix`; false when
// `key` is not one.
bool DecodeFetchKey(absl::string_view key, char prefix, uint64_t* ping_revision);

// ---- backfills (issue 13) -----------------------------------------------------

// backfills  BackfillKey(reference)                -> serialized v1::Backfill
// backfills  OpenBackfillKey(reference)            -> empty, until COMPLETE
// backfills  UserBackfillKey(user_id, reference)   -> empty
inline constexpr char kBackfillKeyPrefix = 'b';
inline constexpr char kOpenBackfillKeyPrefix = 'o';
std::string BackfillKey(absl::string_view reference);
std::string OpenBackfillKey(absl::string_view reference);
std::string UserBackfillPrefix(absl::string_view user_id);
std::string UserBackfillKey(absl::string_view user_id, absl::string_view reference);
// The reference of an OpenBackfillKey / UserBackfillKey; false otherwise.
bool DecodeOpenBackfillKey(absl::string_view key, std::string* reference);
bool DecodeUserBackfillKey(absl::string_view key, std::string* reference);

// ---- meta ------------------------------------------------------------------

// The revision of the last committed change (absent in an empty store).
inline constexpr absl::string_view kLastRevisionMetaKey = "last_revision";
// The oldest change-log revision retention has kept (absent: 1).
inline constexpr absl::string_view kOldestRetainedMetaKey = "oldest_retained_revision";
// The store's timeline id (32 hex digits), see EventStore::TimelineId.
inline constexpr absl::string_view kTimelineMetaKey = "timeline_id";
// A file in the store's folder that asks the next open to start a new
// timeline (CreateCheckpoint puts it into every checkpoint).
inline constexpr absl::string_view kNewTimelineMarkerFile = "HEALTHWIRE_NEW_TIMELINE";
std::string EncodeRevision(uint64_t revision);
bool DecodeRevision(absl::string_view value, uint64_t* revision);
// Cluster replicas: the last applied commit-log sequence and the running
// digest (EventStore::LogPosition; encoded in event_store_log_feeder.cc).
inline constexpr absl::string_view kLogPositionMetaKey = "log_position";
// Present once the user_changes family covers the whole change log (stores
// created before it existed are indexed once, at open).
inline constexpr absl::string_view kUserChangesIndexedMetaKey = "user_changes_indexed";

// Cluster replicas, erasure of a person's messages from the commit log
// (EventStore::StreamDeletionJob; written by event_store_log_feeder.cc):
//   meta  StreamIndexKey(user_id, sequence) -> 8-byte big-endian chunk
//         sequences of that delivery (empty when it was one message)
// for each applied delivery whose events all belong to one user_id, and
//   meta  StreamDeletionKey(erasure_sequence) -> 8-byte big-endian stream
//         sequences to delete
// written at an erasure, in the same WriteBatch that deletes the erased
// users' StreamIndexKeys. No health data in either.
std::string StreamIndexPrefix(absl::string_view user_id);
std::string StreamIndexKey(absl::string_view user_id, uint64_t sequence);
inline constexpr absl::string_view kStreamDeletionMetaPrefix = "stream_delete/";
std::string StreamDeletionKey(uint64_t erasure_sequence);
bool DecodeStreamDeletionKey(absl::string_view key, uint64_t* erasure_sequence);
// A list of 8-byte big-endian sequences (the values above).
std::string EncodeSequences(const std::vector<uint64_t>& sequences);
bool DecodeSequences(absl::string_view value, std::vector<uint64_t>* sequences);

// ---- Helpers for range scans -------------------------------------------------

// The smallest key greater than every key that starts with `prefix` (an
// exclusive upper bound for a prefix scan); empty when there is none (prefix
// is all 0xFF bytes or empty).
std::string PrefixSuccessor(absl::string_view prefix);

}  // namespace keys
}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_KEYS_H_
