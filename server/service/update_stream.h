// UpdateStream: the server side of one StreamUpdates call.
//
// A gRPC callback-API write reactor with one write in flight. It pulls from
// its Subscription: live changes are sent as the bytes the store serialized
// once for every subscriber (no copy); when the subscription is behind, it
// reads the change log on the Executor (never on a gRPC thread) one chunk at a
// time, so memory stays bounded however far behind it is; the next chunk is
// read while the last message of the previous one is written. A backlog is
// written with gRPC's buffer hint, flushed once per burst, not per message. When nothing
// matching happens for the requested interval it sends a progress message
// with the store revision, so a narrowly filtered client can still checkpoint.
//
// Lifetime: owned by itself from Start until gRPC calls OnDone; wakes and
// executor tasks hold weak/shared references, so a late wake is harmless.
// Thread-safe.
#ifndef HEALTHWIRE_SERVER_SERVICE_UPDATE_STREAM_H_
#define HEALTHWIRE_SERVER_SERVICE_UPDATE_STREAM_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.pb.h"
#include "server/service/executor.h"
#include "storage/event_store.h"
#include "storage/subscription_hub.h"

namespace healthwire {

class UpdateStream : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                     public std::enable_shared_from_this<UpdateStream> {
 public:
  // Called once when the call is over, with the number of changes sent
  // (progress messages not counted) and the status the call finished with
  // (the audit log's stream-end line).
  using DoneCallback = std::function<void(uint64_t updates_sent, const grpc::Status& status)>;

  // Validates `request` and starts streaming; returns the reactor for gRPC.
  // A bad request finishes the call at once with INVALID_ARGUMENT (a bad
  // filter or revision) or OUT_OF_RANGE (start_revision no longer retained).
  // A started stream sends its initial metadata at once, with the store
  // timeline under `timeline_metadata_key` (a refused one has none), so a
  // client learns it was accepted before the first change arrives. `context`
  // may be null (no metadata then); its peer names the client in the
  // connect/disconnect log lines. `on_done` (may be null) gets the count of
  // changes sent and the final status (the audit log's stream-end line).
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Start(
      EventStore* store, Executor* executor, const v1::StreamUpdatesRequest& request,
      grpc::CallbackServerContext* context = nullptr,
      const char* timeline_metadata_key = "healthwire-store-timeline",
      DoneCallback on_done = nullptr);

  // A reactor that finishes the call at once with `status`.
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Refuse(grpc::Status status,
                                                            DoneCallback on_done = nullptr);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  UpdateStream(EventStore* store, Executor* executor, const v1::StreamUpdatesRequest& request,
               std::string peer, DoneCallback on_done);

  // Sends whatever is next, if nothing is in flight. Called after every event
  // that may make something sendable.
  void Pump();
  // Reads [from, through] (one chunk of it) on the executor.
  void ScheduleCatchUp(uint64_t from, uint64_t through);
  void CatchUp(uint64_t from, uint64_t through);
  void ScheduleProgressTick();

  EventStore* const store_;
  Executor* const executor_;
  const bool include_raw_json_;
  const absl::Duration progress_interval_;
  const std::string peer_;
  DoneCallback on_done_;  // called in OnDone

  std::shared_ptr<UpdateStream> self_;  // released in OnDone
  absl::Mutex mu_;
  // Set once in Start, under mu_; read-only after.
  std::shared_ptr<Subscription> subscription_;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool catching_up_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t updates_sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<grpc::Status> error_ ABSL_GUARDED_BY(mu_);
  // Responses read and not yet sent (at most one chunk, plus one update
  // looked ahead).
  std::deque<grpc::ByteBuffer> pending_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_);
  uint64_t messages_sent_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status finished_with_ ABSL_GUARDED_BY(mu_);
  // The buffer being written; must outlive the write.
  grpc::ByteBuffer writing_;
};

// The OUT_OF_RANGE status StreamUpdates answers when `start_revision` is
// older than the retained change log; details carry a ChangeLogRange.
grpc::Status ChangeLogOutOfRange(uint64_t start_revision, uint64_t oldest_retained,
                                 uint64_t current);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_UPDATE_STREAM_H_
