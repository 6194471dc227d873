#include "server/service/update_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/service/status_util.h"
#include "server/service/wire_bytes.h"
#include "storage/id_limits.h"

namespace healthwire {
namespace {

// What one catch-up step reads: at most this many change-log entries, and it
// stops once its responses reach the byte bound. This is what a lagging stream
// holds beyond the live feed; with a thousand lagging streams it is the
// store's memory (measured: 256 entries of 1 KB each made 1,000 subscribers,
// 10 stalled, peak at 389 MB RSS).
constexpr size_t kCatchUpChunk = 64;
constexpr size_t kCatchUpChunkBytes = 64 << 10;

// grpc::ByteBuffer has no move operations (its copy is a reference-counted
// grpc_byte_buffer_copy, one allocation): buffers are built in place and
// handed on with Swap.

// `out` = a ByteBuffer over the update's shared serialized bytes, without
// copying them: the slice keeps the update alive until gRPC is done with it.
void SharedBytes(std::shared_ptr<const CommittedUpdate> update, bool include_raw_json,
                 grpc::ByteBuffer* out) {
  const std::string& bytes = update->SerializedResponse(include_raw_json);
  auto* keep_alive = new std::shared_ptr<const CommittedUpdate>(std::move(update));
  grpc::Slice slice(
      const_cast<char*>(bytes.data()), bytes.size(),
      [](void* p) { delete static_cast<std::shared_ptr<const CommittedUpdate>*>(p); },
      keep_alive);
  grpc::ByteBuffer buffer(&slice, 1);
  out->Swap(&buffer);
}

// Reads what routing a change needs (revision, type, user) from a stored,
// serialized v1::Event, skipping everything else: raw_json and the typed
// payload are most of its bytes and need not be decoded to be forwarded.
bool ParseRoutingFields(const std::string& bytes, v1::Event* routing) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  while (const uint32_t tag = input.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto wire_type = WireFormatLite::GetTagWireType(tag);
    if (field == v1::Event::kRevisionFieldNumber && wire_type == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t revision = 0;
      if (!input.ReadVarint64(&revision)) return false;
      routing->set_revision(revision);
    } else if (field == v1::Event::kTypeFieldNumber &&
               wire_type == WireFormatLite::WIRETYPE_VARINT) {
      uint32_t type = 0;
      if (!input.ReadVarint32(&type)) return false;
      routing->set_type(static_cast<v1::EventType>(type));
    } else if (field == v1::Event::kUserFieldNumber &&
               wire_type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!input.ReadVarint32(&length)) return false;
      const auto limit = input.PushLimit(static_cast<int>(length));
      if (!routing->mutable_user()->MergePartialFromCodedStream(&input) ||
          !input.ConsumedEntireMessage()) {
        return false;
      }
      input.PopLimit(limit);
    } else if (!WireFormatLite::SkipField(&input, tag)) {
      return false;
    }
  }
  return input.ConsumedEntireMessage();
}

// `out` = StreamUpdatesResponse{update: <the stored event>} without decoding
// or copying the event: the response's wire form is its field tag and length
// (a small slice of its own) followed by the stored bytes (moved in).
void StoredEventAsUpdate(std::string stored_event, grpc::ByteBuffer* out) {
  std::string header;
  AppendLengthDelimitedHeader(v1::StreamUpdatesResponse::kUpdateFieldNumber, stored_event.size(),
                              &header);
  grpc::Slice slices[2] = {grpc::Slice(header), OwnedSlice(std::move(stored_event))};
  grpc::ByteBuffer buffer(slices, 2);
  out->Swap(&buffer);
}

void SerializeResponse(const v1::StreamUpdatesResponse& response, grpc::ByteBuffer* out) {
  grpc::Slice slice(response.SerializeAsString());
  grpc::ByteBuffer buffer(&slice, 1);
  out->Swap(&buffer);
}

// A filter's ids for a log line: the first few, each cut to 64 bytes (ids
// can be up to 1 MiB), and how many there are.
std::string IdsForLog(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<std::string> shown;
  for (int i = 0; i < ids.size() && i < 5; ++i) shown.push_back(ids[i].substr(0, 64));
  std::string text = absl::StrJoin(shown, ",");
  if (ids.size() > 5) absl::StrAppend(&text, ",...(", ids.size(), ")");
  return text;
}

std::string TypesForLog(const v1::StreamUpdatesRequest& request) {
  std::vector<std::string> names;
  for (const int type : request.types()) {
    names.push_back(v1::EventType_IsValid(type)
                        ? v1::EventType_Name(static_cast<v1::EventType>(type))
                        : absl::StrCat(type));
  }
  return absl::StrJoin(names, ",");
}

}  // namespace

grpc::Status ChangeLogOutOfRange(uint64_t start_revision, uint64_t oldest_retained,
                                 uint64_t current) {
  v1::ChangeLogRange range;
  range.set_oldest_retained_revision(oldest_retained);
  range.set_current_revision(current);
  const std::string message = absl::StrCat(
      "start_revision ", start_revision,
      " is older than the retained change log (oldest retained revision ", oldest_retained,
      ", current revision ", current,
      "); re-sync with GetLatest/ListRecords and stream from their store_revision + 1");
  v1::RpcStatus details;
  details.set_code(grpc::StatusCode::OUT_OF_RANGE);
  details.set_message(message);
  details.add_details()->PackFrom(range);
  return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, message, details.SerializeAsString());
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* UpdateStream::Start(
    EventStore* store, Executor* executor, const v1::StreamUpdatesRequest& request,
    grpc::CallbackServerContext* context, const char* timeline_metadata_key,
    DoneCallback on_done) {
  std::string peer = context != nullptr ? context->peer() : std::string("-");
  absl::StatusOr<StreamFilter> filter = StreamFilter::FromRequest(request);
  grpc::Status refusal;
  if (!filter.ok()) {
    refusal = ToGrpcStatus(filter.status());
  } else if (request.has_start_revision() && request.start_revision() == 0) {
    refusal = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "start_revision: revisions start at 1 (leave it unset to stream "
                           "only new changes)");
  } else if (!request.store_timeline().empty() &&
             request.store_timeline() != store->TimelineId()) {
    refusal = grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("store_timeline: this store is on timeline ", store->TimelineId(), ", not ",
                     QuoteId(request.store_timeline()),
                     " (it was restored from a checkpoint, or is another store), so revisions "
                     "from the old timeline mean other changes here; re-sync with "
                     "GetLatest/ListRecords and stream from their store_revision + 1 with "
                     "their store_timeline"));
  } else if (request.has_start_revision() &&
             request.start_revision() < store->OldestRetainedRevision()) {
    refusal = ChangeLogOutOfRange(request.start_revision(), store->OldestRetainedRevision(),
                                  store->CurrentRevision());
  }
  if (!refusal.ok()) {
    logging::Info("subscriber refused", {{"peer", peer},
                                         {"code", static_cast<int>(refusal.error_code())},
                                         {"error", refusal.error_message().substr(0, 300)}});
    return Refuse(std::move(refusal), std::move(on_done));
  }
  logging::Info("subscriber connected",
                {{"peer", peer},
                 {"types", TypesForLog(request)},
                 {"user_ids", IdsForLog(request.user_ids())},
                 {"reference_ids", IdsForLog(request.reference_ids())},
                 {"start_revision", request.has_start_revision()
                                        ? absl::StrCat(request.start_revision())
                                        : std::string("now")},
                 {"raw_json", request.include_raw_json()},
                 {"subscribers", store->subscription_hub()->subscriber_count() + 1}});

  std::shared_ptr<UpdateStream> stream(new UpdateStream(store, executor, request, std::move(peer),
                                                       std::move(on_done)));
  stream->self_ = stream;
  // The timeline (initial metadata) now, not with the first change: a client
  // (the HTTP read API among them) knows at once that the call was accepted.
  if (context != nullptr) {
    context->AddInitialMetadata(timeline_metadata_key, store->TimelineId());
    stream->StartSendInitialMetadata();
  }

  std::weak_ptr<UpdateStream> weak = stream;
  std::optional<uint64_t> start;
  if (request.has_start_revision()) start = request.start_revision();
  std::shared_ptr<Subscription> subscription =
      store->subscription_hub()->Subscribe(*std::move(filter), start, [weak] {
        if (std::shared_ptr<UpdateStream> alive = weak.lock()) alive->Pump();
      });
  {
    // A wake can come before this assignment; Pump ignores it, and the Pump
    // below picks up whatever it was about.
    absl::MutexLock lock(&stream->mu_);
    stream->subscription_ = std::move(subscription);
  }
  if (stream->progress_interval_ > absl::ZeroDuration()) stream->ScheduleProgressTick();
  stream->Pump();
  return stream.get();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* UpdateStream::Refuse(grpc::Status status,
                                                                  DoneCallback on_done) {
  class Refusal : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
   public:
    Refusal(const grpc::Status& status, DoneCallback on_done)
        : status_(status), on_done_(std::move(on_done)) {
      Finish(status);
    }
    void OnDone() override {
      if (on_done_) on_done_(0, status_);
      delete this;
    }

   private:
    const grpc::Status status_;
    DoneCallback on_done_;
  };
  return new Refusal(status, std::move(on_done));
}

UpdateStream::UpdateStream(EventStore* store, Executor* executor,
                           const v1::StreamUpdatesRequest& request, std::string peer,
                           DoneCallback on_done)
    : store_(store),
      executor_(executor),
      include_raw_json_(request.include_raw_json()),
      progress_interval_(absl::Milliseconds(request.progress_interval_ms())),
      peer_(std::move(peer)),
      on_done_(std::move(on_done)),
      last_sent_(absl::Now()) {}

void UpdateStream::Pump() {
  enum class Action { kNone, kWrite, kFinish, kCatchUp } action = Action::kNone;
  // Set when another message is known to follow at once: gRPC may then hold
  // this one in the stream's write buffer (up to its write_buffer_size) and
  // complete the write without a flush, so a backlog goes out as a few large
  // socket writes instead of one HTTP/2 frame and syscall per message. The
  // message that follows is written without the hint and flushes both: the
  // next Pump finds it (pending_ is only drained here; a live buffer that
  // overflows meanwhile is re-read from the change log from that very
  // revision, which matched), or the call is finished, which flushes too.
  bool more_follows = false;
  bool read_ahead = false;  // kWrite, and also start the catch-up read
  grpc::Status finish_status;
  uint64_t catch_up_from = 0, catch_up_through = 0;
  {
    absl::MutexLock lock(&mu_);
    // write_in_flight_ is the token: whoever sets it may call StartWrite, and
    // Finish is only called with no write in flight, exactly once.
    if (write_in_flight_ || finish_called_ || subscription_ == nullptr) return;
    if (cancelled_ || error_.has_value()) {
      finish_called_ = true;
      finish_status = cancelled_ ? grpc::Status::CANCELLED : *error_;
      finished_with_ = finish_status;
      action = Action::kFinish;
    } else if (!pending_.empty()) {
      writing_.Swap(&pending_.front());
      pending_.pop_front();
      ++updates_sent_;
      action = Action::kWrite;
      if (pending_.empty() && !catching_up_) {
        // The last message read: look ahead now, so the next change-log read
        // (on the executor) overlaps this write and its flush instead of
        // starting after them. At most one chunk is read ahead, so a lagging
        // stream still holds about one chunk.
        Subscription::Next next = subscription_->Poll();
        if (next.kind == Subscription::Next::Kind::kUpdate) {
          pending_.emplace_back();
          SharedBytes(std::move(next.update), include_raw_json_, &pending_.back());
        } else if (next.kind == Subscription::Next::Kind::kCatchUp) {
          catching_up_ = true;
          catch_up_from = next.catch_up_from;
          catch_up_through = next.catch_up_through;
          read_ahead = true;
        }
      }
      more_follows = !pending_.empty();
    } else if (!catching_up_) {
      Subscription::Next next = subscription_->Poll();
      switch (next.kind) {
        case Subscription::Next::Kind::kUpdate:
          SharedBytes(std::move(next.update), include_raw_json_, &writing_);
          more_follows = next.more;
          ++updates_sent_;
          action = Action::kWrite;
          break;
        case Subscription::Next::Kind::kCatchUp:
          catching_up_ = true;
          catch_up_from = next.catch_up_from;
          catch_up_through = next.catch_up_through;
          action = Action::kCatchUp;
          break;
        case Subscription::Next::Kind::kNothing:
          if (progress_interval_ > absl::ZeroDuration() &&
              absl::Now() - last_sent_ >= progress_interval_) {
            std::optional<uint64_t> revision = subscription_->ProgressRevision();
            if (revision.has_value()) {
              v1::StreamUpdatesResponse progress;
              progress.set_progress_revision(*revision);
              SerializeResponse(progress, &writing_);
              action = Action::kWrite;
            }
          }
          break;
      }
    }
    if (action == Action::kWrite) {
      write_in_flight_ = true;
      ++messages_sent_;
      last_sent_ = absl::Now();
    }
  }
  // gRPC may run a reaction inline from StartWrite/Finish, so neither is
  // called with mu_ held.
  switch (action) {
    case Action::kWrite:
      if (read_ahead) ScheduleCatchUp(catch_up_from, catch_up_through);
      if (more_follows) {
        StartWrite(&writing_, grpc::WriteOptions().set_buffer_hint());
      } else {
        StartWrite(&writing_);
      }
      break;
    case Action::kFinish:
      Finish(finish_status);
      break;
    case Action::kCatchUp:
      ScheduleCatchUp(catch_up_from, catch_up_through);
      break;
    case Action::kNone:
      break;
  }
}

void UpdateStream::ScheduleCatchUp(uint64_t from, uint64_t through) {
  std::shared_ptr<UpdateStream> self = shared_from_this();
  executor_->Schedule([self, from, through] { self->CatchUp(from, through); });
}

void UpdateStream::CatchUp(uint64_t from, uint64_t through) {
  std::vector<std::string> entries;
  absl::Status read = store_->ReadChangeLogBytes(from, kCatchUpChunk, &entries);
  std::deque<grpc::ByteBuffer> matching;
  uint64_t done_through = through;
  std::optional<grpc::Status> error;
  std::vector<v1::Event> routing(entries.size());
  for (size_t i = 0; read.ok() && i < entries.size(); ++i) {
    if (!ParseRoutingFields(entries[i], &routing[i])) {
      read = absl::DataLossError("a change-log entry does not parse as healthwire.v1.Event");
    }
  }
  if (!read.ok()) {
    error = ToGrpcStatus(read);
  } else if (entries.empty() || routing.front().revision() != from) {
    // The change log no longer starts at `from`: retention removed it while
    // this stream was behind.
    error = ChangeLogOutOfRange(from, store_->OldestRetainedRevision(), store_->CurrentRevision());
  } else {
    const uint64_t last_read = routing.back().revision();
    uint64_t processed_through = from - 1;
    size_t bytes = 0;
    bool byte_bound_reached = false;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (routing[i].revision() > through) break;
      if (bytes >= kCatchUpChunkBytes) {
        byte_bound_reached = true;
        break;
      }
      processed_through = routing[i].revision();
      if (!subscription_->filter().Matches(routing[i])) continue;
      if (include_raw_json_) {
        // Forwarded as stored: no decode, no re-encode.
        matching.emplace_back();
        StoredEventAsUpdate(std::move(entries[i]), &matching.back());
      } else {
        v1::StreamUpdatesResponse response;
        if (!response.mutable_update()->ParseFromString(entries[i])) {
          error = ToGrpcStatus(
              absl::DataLossError("a change-log entry does not parse as healthwire.v1.Event"));
          break;
        }
        response.mutable_update()->clear_raw_json();
        matching.emplace_back();
        SerializeResponse(response, &matching.back());
      }
      bytes += matching.back().Length();
    }
    if (byte_bound_reached) {
      done_through = processed_through;
    } else if (entries.size() == kCatchUpChunk && last_read < through) {
      done_through = last_read;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    catching_up_ = false;
    if (error.has_value()) {
      error_ = std::move(error);
    } else {
      for (grpc::ByteBuffer& buffer : matching) {
        pending_.emplace_back();
        pending_.back().Swap(&buffer);
      }
      subscription_->CatchUpDone(done_through);
    }
  }
  Pump();
}

void UpdateStream::ScheduleProgressTick() {
  std::weak_ptr<UpdateStream> weak = shared_from_this();
  executor_->ScheduleAfter(progress_interval_ / 2, [weak] {
    std::shared_ptr<UpdateStream> self = weak.lock();
    if (self == nullptr) return;
    {
      absl::MutexLock lock(&self->mu_);
      if (self->finish_called_) return;
    }
    self->Pump();
    self->ScheduleProgressTick();
  });
}

void UpdateStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    // A failed write means the call is gone; finish it.
    if (!ok) cancelled_ = true;
  }
  Pump();
}

void UpdateStream::OnCancel() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  Pump();
}

void UpdateStream::OnDone() {
  if (subscription_ != nullptr) store_->subscription_hub()->Unsubscribe(subscription_);
  if (on_done_) {
    uint64_t sent;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      sent = updates_sent_;
      // Never finished by us: the client went away (gRPC cancelled it).
      status = finish_called_ ? finished_with_ : grpc::Status::CANCELLED;
    }
    on_done_(sent, status);
  }
  {
    absl::MutexLock lock(&mu_);
    logging::Info("subscriber disconnected",
                  {{"peer", peer_},
                   {"messages_sent", messages_sent_},
                   {"reason", cancelled_ ? std::string("client went away or server stopping")
                                         : finished_with_.error_message().substr(0, 300)},
                   {"subscribers", store_->subscription_hub()->subscriber_count()}});
  }
  // Drop the self-reference; pending executor tasks may keep the object a
  // little longer, but they do nothing once finish_called_ is set.
  std::shared_ptr<UpdateStream> last = std::move(self_);
}

}  // namespace healthwire
