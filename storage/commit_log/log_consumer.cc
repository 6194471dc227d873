#include "storage/commit_log/log_consumer.h"

#include <nats/nats.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/commit_log/delivery_id.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<LogConsumer>> LogConsumer::Start(CommitLog* log,
                                                                const Options& options) {
  const std::string subject = log->deliveries_subject();
  const std::string stream = log->options().stream;
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = stream.c_str();
  sub_options.Ordered = true;
  sub_options.Config.Heartbeat = absl::ToInt64Nanoseconds(options.heartbeat);
  if (options.start_sequence > 1) {
    sub_options.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_options.Config.OptStartSeq = options.start_sequence;
  } else {
    sub_options.Config.DeliverPolicy = js_DeliverAll;
  }
  natsSubscription* subscription = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&subscription, log->jetstream(), subject.c_str(), nullptr,
                                  &sub_options, &err);
  if (s != NATS_OK) {
    return NatsStatus(s, err, absl::StrCat("cannot consume ", stream, " from sequence ",
                                           options.start_sequence));
  }
  natsSubscription_SetPendingLimits(subscription, 1 << 20, options.max_buffered_bytes);
  return std::unique_ptr<LogConsumer>(new LogConsumer(log, subscription));
}

LogConsumer::~LogConsumer() {
  natsSubscription_Unsubscribe(subscription_);
  natsSubscription_Destroy(subscription_);
}

absl::StatusOr<std::optional<ConsumedDelivery>> LogConsumer::Next(absl::Duration timeout) {
  if (!held_.has_value()) {
    natsMsg* msg = nullptr;
    natsStatus s = natsSubscription_NextMsg(
        &msg, subscription_, std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout)));
    if (s == NATS_TIMEOUT) return std::nullopt;
    if (s != NATS_OK) return NatsStatus(s, 0, "reading the log");
    ConsumedDelivery consumed;
    jsMsgMetaData* meta = nullptr;
    s = natsMsg_GetMetaData(&meta, msg);
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      return NatsStatus(s, 0, "a log message without JetStream metadata");
    }
    consumed.sequence = meta->Sequence.Stream;
    consumed.pending = meta->NumPending;
    consumed.logged_at = absl::FromUnixNanos(meta->Timestamp);
    jsMsgMetaData_Destroy(meta);
    log::v1::LogEntry entry;
    const bool parsed = entry.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
    if (!parsed) {
      consumed.malformed = "not a healthwire LogEntry";
      return consumed;
    }
    switch (entry.kind_case()) {
      case log::v1::LogEntry::kDelivery:
        consumed.delivery = std::move(*entry.mutable_delivery());
        return consumed;
      case log::v1::LogEntry::kErasure:
        consumed.erasure = std::move(*entry.mutable_erasure());
        return consumed;
      case log::v1::LogEntry::kChunked:
        held_chunks_ = std::move(*entry.mutable_chunked());
        held_ = std::move(consumed);
        break;
      default:
        consumed.malformed = "a LogEntry of a kind this version does not know";
        return consumed;
    }
  }
  absl::Status fetched = FetchChunks();
  if (!fetched.ok()) return fetched;
  ConsumedDelivery out = std::move(*held_);
  held_.reset();
  return out;
}

absl::Status LogConsumer::FetchChunks() {
  std::string bytes;
  bytes.reserve(held_chunks_.total_bytes());
  const std::string stream = log_->options().stream;
  held_->chunk_sequences.clear();
  for (const log::v1::ChunkRef& ref : held_chunks_.chunks()) {
    held_->chunk_sequences.push_back(ref.stream_sequence());
    natsMsg* msg = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&msg, log_->jetstream(), stream.c_str(), ref.stream_sequence(),
                             nullptr, &err);
    if (s == NATS_NOT_FOUND) {
      held_->malformed = absl::StrCat("chunk at sequence ", ref.stream_sequence(), " is gone");
      return absl::OkStatus();
    }
    if (s != NATS_OK) {
      return NatsStatus(s, err, absl::StrCat("fetching chunk at sequence ", ref.stream_sequence(),
                                             " of the delivery at ", held_->sequence));
    }
    const int size = natsMsg_GetDataLength(msg);
    if (static_cast<uint32_t>(size) != ref.size()) {
      natsMsg_Destroy(msg);
      held_->malformed = absl::StrCat("chunk at sequence ", ref.stream_sequence(), " has ", size,
                                      " bytes, the commit says ", ref.size());
      return absl::OkStatus();
    }
    bytes.append(natsMsg_GetData(msg), size);
    natsMsg_Destroy(msg);
  }
  if (bytes.size() != held_chunks_.total_bytes() || Sha256Bytes(bytes) != held_chunks_.sha256()) {
    held_->malformed = "chunks do not match the commit's size and SHA-256";
    return absl::OkStatus();
  }
  if (!held_->delivery.ParseFromString(bytes)) {
    held_->malformed = "chunks do not parse as a Delivery";
  }
  return absl::OkStatus();
}

}  // namespace healthwire
