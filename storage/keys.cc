#include "storage/keys.h"

#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace healthwire {
namespace keys {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xFF';
constexpr char kTerminator = '\x01';
constexpr uint64_t kSignBit = uint64_t{1} << 63;

}  // namespace

// ---- Components ----------------------------------------------------------

void AppendOrderedString(absl::string_view value, std::string* out) {
  out->reserve(out->size() + value.size() + 2);
  for (char c : value) {
    out->push_back(c);
    if (c == kEscape) out->push_back(kEscapedZero);
  }
  out->push_back(kEscape);
  out->push_back(kTerminator);
}

bool ConsumeOrderedString(absl::string_view* in, std::string* value) {
  value->clear();
  for (size_t i = 0; i < in->size(); ++i) {
    const char c = (*in)[i];
    if (c != kEscape) {
      value->push_back(c);
      continue;
    }
    if (i + 1 >= in->size()) return false;
    const char next = (*in)[i + 1];
    if (next == kTerminator) {
      in->remove_prefix(i + 2);
      return true;
    }
    if (next != kEscapedZero) return false;
    value->push_back(kEscape);
    ++i;
  }
  return false;  // no terminator
}

void AppendUint32BigEndian(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

bool ConsumeUint32BigEndian(absl::string_view* in, uint32_t* value) {
  if (in->size() < 4) return false;
  uint32_t result = 0;
  for (int i = 0; i < 4; ++i) {
    result = (result << 8) | static_cast<uint8_t>((*in)[i]);
  }
  in->remove_prefix(4);
  *value = result;
  return true;
}

void AppendUint64BigEndian(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

bool ConsumeUint64BigEndian(absl::string_view* in, uint64_t* value) {
  if (in->size() < 8) return false;
  uint64_t result = 0;
  for (int i = 0; i < 8; ++i) {
    result = (result << 8) | static_cast<uint8_t>((*in)[i]);
  }
  in->remove_prefix(8);
  *value = result;
  return true;
}

void AppendOrderedInt64(int64_t value, std::string* out) {
  AppendUint64BigEndian(static_cast<uint64_t>(value) ^ kSignBit, out);
}

bool ConsumeOrderedInt64(absl::string_view* in, int64_t* value) {
  uint64_t bits = 0;
  if (!ConsumeUint64BigEndian(in, &bits)) return false;
  *value = static_cast<int64_t>(bits ^ kSignBit);
  return true;
}

// ---- Start instants --------------------------------------------------------

std::optional<int64_t> ParseStartTimeMicros(absl::string_view start_time) {
  if (start_time.empty()) return std::nullopt;
  absl::Time instant;
  std::string error;
  // %ET accepts 'T' or 't'; %Ez accepts +hh:mm, -hh:mm and Z.
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", start_time, &instant, &error)) {
    return std::nullopt;
  }
  // ParseTime yields infinite times for out-of-range years; they are not
  // instants a record can start at.
  if (instant == absl::InfiniteFuture() || instant == absl::InfinitePast()) {
    return std::nullopt;
  }
  const int64_t micros = absl::ToUnixMicros(instant);
  // Keep kUnknownStartMicros exclusively for "no instant".
  if (micros == kUnknownStartMicros) return std::nullopt;
  return micros;
}

int64_t StartInstantMicros(absl::string_view start_time) {
  return ParseStartTimeMicros(start_time).value_or(kUnknownStartMicros);
}

// ---- records ---------------------------------------------------------------

std::string UserKey(absl::string_view user_id) {
  std::string key;
  AppendOrderedString(user_id, &key);
  return key;
}

std::string UserReferencePrefix(absl::string_view reference_id) {
  std::string key;
  AppendOrderedString(reference_id, &key);
  return key;
}

std::string UserReferenceKey(absl::string_view reference_id, absl::string_view user_id) {
  std::string key = UserReferencePrefix(reference_id);
  AppendOrderedString(user_id, &key);
  return key;
}

bool DecodeUserReferenceKey(absl::string_view key, std::string* user_id) {
  std::string reference_id;
  return ConsumeOrderedString(&key, &reference_id) && ConsumeOrderedString(&key, user_id) &&
         key.empty();
}

std::string RecordUserPrefix(absl::string_view user_id) {
  std::string key;
  AppendOrderedString(user_id, &key);
  return key;
}

std::string RecordKey(absl::string_view user_id, uint32_t type,
                      absl::string_view record_key) {
  std::string key;
  AppendOrderedString(user_id, &key);
  AppendUint32BigEndian(type, &key);
  AppendOrderedString(record_key, &key);
  return key;
}

bool DecodeRecordKey(absl::string_view key, DecodedRecordKey* out) {
  return ConsumeOrderedString(&key, &out->user_id) &&
         ConsumeUint32BigEndian(&key, &out->type) &&
         ConsumeOrderedString(&key, &out->record_key) && key.empty();
}

// ---- by_start --------------------------------------------------------------

std::string StartIndexSubjectPrefix(SubjectKind kind, absl::string_view subject_id) {
  std::string key;
  key.push_back(static_cast<char>(kind));
  AppendOrderedString(subject_id, &key);
  return key;
}

std::string StartIndexPrefix(SubjectKind kind, absl::string_view subject_id,
                             uint32_t type) {
  std::string key = StartIndexSubjectPrefix(kind, subject_id);
  AppendUint32BigEndian(type, &key);
  return key;
}

std::string StartIndexBound(SubjectKind kind, absl::string_view subject_id,
                            uint32_t type, int64_t start_micros) {
  std::string key = StartIndexPrefix(kind, subject_id, type);
  AppendOrderedInt64(start_micros, &key);
  return key;
}

std::string StartIndexKey(SubjectKind kind, absl::string_view subject_id,
                          uint32_t type, int64_t start_micros,
                          absl::string_view user_id, absl::string_view record_key) {
  std::string key = StartIndexBound(kind, subject_id, type, start_micros);
  AppendOrderedString(user_id, &key);
  AppendOrderedString(record_key, &key);
  return key;
}

bool DecodeStartIndexKey(absl::string_view key, DecodedStartIndexKey* out) {
  if (key.empty()) return false;
  const char kind = key.front();
  if (kind != static_cast<char>(SubjectKind::kUserId) &&
      kind != static_cast<char>(SubjectKind::kReferenceId)) {
    return false;
  }
  out->kind = static_cast<SubjectKind>(kind);
  key.remove_prefix(1);
  return ConsumeOrderedString(&key, &out->subject_id) &&
         ConsumeUint32BigEndian(&key, &out->type) &&
         ConsumeOrderedInt64(&key, &out->start_micros) &&
         ConsumeOrderedString(&key, &out->user_id) &&
         ConsumeOrderedString(&key, &out->record_key) && key.empty();
}

// ---- changelog -------------------------------------------------------------

std::string RevisionKey(uint64_t revision) { return EncodeRevision(revision); }

bool DecodeRevisionKey(absl::string_view key, uint64_t* revision) {
  return DecodeRevision(key, revision);
}

// ---- user_changes ----------------------------------------------------------

std::string UserChangePrefix(absl::string_view user_id) {
  std::string key;
  AppendOrderedString(user_id, &key);
  return key;
}

std::string UserChangeKey(absl::string_view user_id, uint64_t revision) {
  std::string key = UserChangePrefix(user_id);
  AppendUint64BigEndian(revision, &key);
  return key;
}

bool DecodeUserChangeKey(absl::string_view key, uint64_t* revision) {
  std::string user_id;
  return ConsumeOrderedString(&key, &user_id) && ConsumeUint64BigEndian(&key, revision) &&
         key.empty();
}

// ---- fetches -----------------------------------------------------------------

namespace {
std::string PrefixedRevision(char prefix, uint64_t revision) {
  std::string key(1, prefix);
  AppendUint64BigEndian(revision, &key);
  return key;
}
}  // namespace

std::string FetchKey(uint64_t ping_revision) {
  return PrefixedRevision(kFetchKeyPrefix, ping_revision);
}

std::string PendingFetchKey(uint64_t ping_revision) {
  return PrefixedRevision(kPendingFetchKeyPrefix, ping_revision);
}

bool DecodeFetchKey(absl::string_view key, char prefix, uint64_t* ping_revision) {
  if (key.empty() || key.front() != prefix) return false;
  key.remove_prefix(1);
  return ConsumeUint64BigEndian(&key, ping_revision) && key.empty();
}

// ---- backfills ----------------------------------------------------------------

std::string BackfillKey(absl::string_view reference) {
  std::string key(1, kBackfillKeyPrefix);
  AppendOrderedString(reference, &key);
  return key;
}

std::string OpenBackfillKey(absl::string_view reference) {
  std::string key(1, kOpenBackfillKeyPrefix);
  AppendOrderedString(reference, &key);
  return key;
}

std::string UserBackfillPrefix(absl::string_view user_id) {
  std::string key(1, 'u');
  AppendOrderedString(user_id, &key);
  return key;
}

std::string UserBackfillKey(absl::string_view user_id, absl::string_view reference) {
  std::string key = UserBackfillPrefix(user_id);
  AppendOrderedString(reference, &key);
  return key;
}

bool DecodeOpenBackfillKey(absl::string_view key, std::string* reference) {
  if (key.empty() || key.front() != kOpenBackfillKeyPrefix) return false;
  key.remove_prefix(1);
  return ConsumeOrderedString(&key, reference) && key.empty();
}

bool DecodeUserBackfillKey(absl::string_view key, std::string* reference) {
  if (key.empty() || key.front() != 'u') return false;
  key.remove_prefix(1);
  std::string user_id;
  return ConsumeOrderedString(&key, &user_id) && ConsumeOrderedString(&key, reference) &&
         key.empty();
}

// ---- meta ------------------------------------------------------------------

std::string EncodeRevision(uint64_t revision) {
  std::string value;
  AppendUint64BigEndian(revision, &value);
  return value;
}

bool DecodeRevision(absl::string_view value, uint64_t* revision) {
  return ConsumeUint64BigEndian(&value, revision) && value.empty();
}

std::string StreamIndexPrefix(absl::string_view user_id) {
  std::string key = "stream_index/";
  AppendOrderedString(user_id, &key);
  return key;
}

std::string StreamIndexKey(absl::string_view user_id, uint64_t sequence) {
  std::string key = StreamIndexPrefix(user_id);
  AppendUint64BigEndian(sequence, &key);
  return key;
}

std::string StreamDeletionKey(uint64_t erasure_sequence) {
  std::string key(kStreamDeletionMetaPrefix);
  AppendUint64BigEndian(erasure_sequence, &key);
  return key;
}

bool DecodeStreamDeletionKey(absl::string_view key, uint64_t* erasure_sequence) {
  if (!absl::ConsumePrefix(&key, kStreamDeletionMetaPrefix)) return false;
  return ConsumeUint64BigEndian(&key, erasure_sequence) && key.empty();
}

std::string EncodeSequences(const std::vector<uint64_t>& sequences) {
  std::string value;
  for (uint64_t sequence : sequences) AppendUint64BigEndian(sequence, &value);
  return value;
}

bool DecodeSequences(absl::string_view value, std::vector<uint64_t>* sequences) {
  sequences->clear();
  while (!value.empty()) {
    uint64_t sequence = 0;
    if (!ConsumeUint64BigEndian(&value, &sequence)) return false;
    sequences->push_back(sequence);
  }
  return true;
}

// ---- Helpers for range scans -------------------------------------------------

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string successor(prefix);
  while (!successor.empty()) {
    const uint8_t last = static_cast<uint8_t>(successor.back());
    if (last != 0xFF) {
      successor.back() = static_cast<char>(last + 1);
      return successor;
    }
    successor.pop_back();
  }
  return successor;
}

}  // namespace keys
}  // namespace healthwire
