#include "storage/commit_log/log_publisher.h"

#include <nats/nats.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "storage/commit_log/delivery_id.h"

namespace healthwire {
namespace {

int64_t MillisUntil(absl::Time deadline) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
}

uint64_t RandomSalt() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

LogPublisher::LogPublisher(CommitLog* log)
    : log_(log),
      stream_(log->options().stream),
      deliveries_subject_(log->deliveries_subject()),
      chunks_subject_(log->chunks_subject()),
      attempt_salt_(RandomSalt()) {
  log_->SetAckHandler(&LogPublisher::OnAck, this);
  const int workers = std::max(1, log_->options().max_concurrent_chunked);
  for (int i = 0; i < workers; ++i) chunk_workers_.emplace_back([this] { RunChunkWorker(); });
}

LogPublisher::~LogPublisher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : chunk_workers_) worker.join();
  bool any_pending;
  {
    absl::MutexLock lock(&mu_);
    any_pending = !pending_.empty();
  }
  // (nats.c 3.4.1's pending-list calls crash on a context that never
  // published asynchronously: only with something pending.)
  if (any_pending) {
    // Give PubAcks already on their way a moment, then take back the rest:
    // no ack handler call comes for those after this.
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = 2000;
    js_PublishAsyncComplete(log_->jetstream(), &options);
    natsMsgList list{};
    if (js_PublishAsyncGetPendingList(&list, log_->jetstream()) == NATS_OK) {
      natsMsgList_Destroy(&list);
    }
  }
  absl::flat_hash_map<natsMsg*, Callback> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(pending_);
  }
  for (auto& [msg, done] : left) {
    done(absl::UnavailableError("the publisher shut down before the PubAck arrived"));
  }
  log_->SetAckHandler(nullptr, nullptr);
}

void LogPublisher::Count(const absl::StatusOr<PublishResult>& result) {
  if (!result.ok()) {
    failed_.fetch_add(1);
  } else if (result->duplicate) {
    duplicates_.fetch_add(1);
  } else {
    committed_.fetch_add(1);
  }
}

void LogPublisher::Publish(log::v1::Delivery delivery, absl::Time deadline, Callback done) {
  if (delivery.delivery_id().empty()) {
    delivery.set_delivery_id(DeliveryIdInPlace(delivery.mutable_events()));
  }
  if (deadline <= absl::Now()) {
    failed_.fetch_add(1);
    done(absl::DeadlineExceededError("the deadline passed before publishing"));
    return;
  }
  const std::string delivery_id = delivery.delivery_id();
  log::v1::LogEntry entry;
  *entry.mutable_delivery() = std::move(delivery);
  if (entry.ByteSizeLong() > log_->MessageLimit()) {
    const int limit = std::max(1, log_->options().max_concurrent_chunked);
    bool queued = false;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_ && chunked_in_flight_ + static_cast<int>(chunked_queue_.size()) < limit) {
        chunked_queue_.push_back(
            ChunkedJob{std::move(*entry.mutable_delivery()), deadline, std::move(done)});
        queued = true;
      }
    }
    if (!queued) {
      failed_.fetch_add(1);
      done(absl::ResourceExhaustedError(absl::StrCat(
          "more than ", limit, " large (chunked) deliveries are being written; retry later")));
    }
    return;
  }

  // Serialized into this thread's buffer (nats.c copies it into the message
  // anyway): no allocation per publish once the buffer has grown.
  thread_local std::string data;
  entry.SerializeToString(&data);
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, deliveries_subject_.c_str(), nullptr, data.data(),
                                static_cast<int>(data.size()));
  if (s != NATS_OK) {
    failed_.fetch_add(1);
    done(NatsStatus(s, 0, "cannot create the log message"));
    return;
  }
  natsMsg* const key = msg;
  bool registered = false;
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(pending_.size()) < log_->options().max_pending_publishes) {
      // Registered before publishing: the PubAck may arrive before
      // js_PublishMsgAsync returns.
      pending_.emplace(key, std::move(done));
      registered = true;
    }
  }
  if (!registered) {
    natsMsg_Destroy(msg);
    failed_.fetch_add(1);
    done(absl::ResourceExhaustedError(
        absl::StrCat(log_->options().max_pending_publishes,
                     " publishes are waiting for the log's PubAck; retry later")));
    return;
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = delivery_id.c_str();
  options.ExpectStream = stream_.c_str();
  // The library answers a timeout itself; one wait for all (see
  // CommitLogOptions::publish_ack_wait).
  options.MaxWait = std::max<int64_t>(1, absl::ToInt64Milliseconds(log_->options().publish_ack_wait));
  s = js_PublishMsgAsync(log_->jetstream(), &msg, &options);
  if (s != NATS_OK) {
    // Not taken by the library: no ack handler call will come for it.
    Callback failed;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(key);
      if (it != pending_.end()) {
        failed = std::move(it->second);
        pending_.erase(it);
      }
    }
    natsMsg_Destroy(msg);
    if (failed) {
      failed_.fetch_add(1);
      failed(NatsStatus(s, 0, "cannot publish to the log"));
    }
  }
}

void LogPublisher::OnAck(natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto* self = static_cast<LogPublisher*>(closure);
  Callback done;
  {
    absl::MutexLock lock(&self->mu_);
    auto it = self->pending_.find(msg);
    if (it != self->pending_.end()) {
      done = std::move(it->second);
      self->pending_.erase(it);
    }
  }
  natsMsg_Destroy(msg);
  if (!done) return;
  absl::StatusOr<PublishResult> result;
  if (ack != nullptr) {
    result = PublishResult{ack->Sequence, ack->Duplicate, 1};
  } else if (error != nullptr) {
    result = NatsStatus(error->Err, error->ErrCode,
                        absl::StrCat("log publish failed",
                                     error->ErrText != nullptr ? absl::StrCat(" (", error->ErrText, ")")
                                                               : ""));
  } else {
    result = absl::UnavailableError("log publish: neither ack nor error");
  }
  self->Count(result);
  done(std::move(result));
}

absl::StatusOr<PublishResult> LogPublisher::PublishAndWait(log::v1::Delivery delivery,
                                                           absl::Time deadline) {
  absl::Notification finished;
  absl::StatusOr<PublishResult> out;
  Publish(std::move(delivery), deadline, [&](absl::StatusOr<PublishResult> result) {
    out = std::move(result);
    finished.Notify();
  });
  finished.WaitForNotification();
  return out;
}

absl::StatusOr<PublishResult> LogPublisher::PublishOne(const std::string& subject,
                                                       const std::string& msg_id,
                                                       const std::string& data,
                                                       absl::Time deadline) {
  if (deadline <= absl::Now()) {
    return absl::DeadlineExceededError("the deadline passed while writing to the log");
  }
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                                static_cast<int>(data.size()));
  if (s != NATS_OK) return NatsStatus(s, 0, "cannot create the log message");
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = msg_id.c_str();
  options.ExpectStream = stream_.c_str();
  options.MaxWait = MillisUntil(deadline);
  jsPubAck* ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&ack, log_->jetstream(), msg, &options, &err);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return NatsStatus(s, err, "log publish failed");
  PublishResult result{ack->Sequence, ack->Duplicate, 1};
  jsPubAck_Destroy(ack);
  return result;
}

absl::StatusOr<log::v1::ChunkedDelivery> LogPublisher::WriteChunks(
    const std::string& delivery_id, const std::string& serialized_delivery, absl::Time deadline) {
  const size_t limit = log_->MessageLimit();
  // Ids unique to this attempt: a retry's chunks (with another received_at)
  // must never mix with the first attempt's.
  const std::string attempt =
      absl::StrCat(absl::Hex(attempt_salt_, absl::kZeroPad16), "-", attempt_counter_.fetch_add(1));
  log::v1::ChunkedDelivery chunked;
  chunked.set_delivery_id(delivery_id);
  chunked.set_total_bytes(serialized_delivery.size());
  chunked.set_sha256(Sha256Bytes(serialized_delivery));
  for (size_t offset = 0, index = 0; offset < serialized_delivery.size();
       offset += limit, ++index) {
    const std::string chunk = serialized_delivery.substr(offset, limit);
    absl::StatusOr<PublishResult> written =
        PublishOne(chunks_subject_, absl::StrCat(delivery_id, ".", attempt, ".", index), chunk,
                   deadline);
    if (!written.ok()) return written.status();
    log::v1::ChunkRef* ref = chunked.add_chunks();
    ref->set_stream_sequence(written->sequence);
    ref->set_size(static_cast<uint32_t>(chunk.size()));
  }
  return chunked;
}

absl::StatusOr<PublishResult> LogPublisher::CommitChunks(const log::v1::ChunkedDelivery& chunked,
                                                         absl::Time deadline) {
  log::v1::LogEntry entry;
  *entry.mutable_chunked() = chunked;
  absl::StatusOr<PublishResult> result =
      PublishOne(deliveries_subject_, chunked.delivery_id(), entry.SerializeAsString(), deadline);
  if (result.ok()) result->messages = chunked.chunks_size() + 1;
  return result;
}

absl::StatusOr<PublishResult> LogPublisher::PublishChunked(log::v1::Delivery delivery,
                                                           absl::Time deadline) {
  const std::string serialized = delivery.SerializeAsString();
  absl::StatusOr<log::v1::ChunkedDelivery> chunked =
      WriteChunks(delivery.delivery_id(), serialized, deadline);
  if (!chunked.ok()) return chunked.status();
  return CommitChunks(*chunked, deadline);
}

void LogPublisher::RunChunkWorker() {
  while (true) {
    ChunkedJob job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LogPublisher* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->stopping_ || !self->chunked_queue_.empty();
          },
          this));
      if (chunked_queue_.empty()) return;  // stopping, nothing left
      job = std::move(chunked_queue_.front());
      chunked_queue_.pop_front();
      ++chunked_in_flight_;
    }
    absl::StatusOr<PublishResult> result = PublishChunked(std::move(job.delivery), job.deadline);
    if (result.ok()) chunked_.fetch_add(1);
    Count(result);
    {
      absl::MutexLock lock(&mu_);
      --chunked_in_flight_;
    }
    job.done(std::move(result));
  }
}

LogPublisher::Stats LogPublisher::GetStats() const {
  Stats stats;
  stats.committed = committed_.load();
  stats.duplicates = duplicates_.load();
  stats.failed = failed_.load();
  stats.chunked = chunked_.load();
  absl::MutexLock lock(const_cast<absl::Mutex*>(&mu_));
  stats.pending = static_cast<int64_t>(pending_.size());
  stats.chunked_in_flight = chunked_in_flight_;
  return stats;
}

}  // namespace healthwire
