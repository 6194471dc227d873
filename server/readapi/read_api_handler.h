// ReadApiHandler: the HTTP/JSON read API's decisions, without a socket (the
// model is TensorFlow Serving's HttpRestApiHandler): a GET request becomes a
// call of the healthwire.v1.EventStore gRPC service, and its answer (or
// error) becomes protobuf's JSON mapping (MessageToJsonString, field names as
// in the .proto) with an HTTP status.
//
//   GET /v1/users/{user_id}                       GetUser
//   GET /v1/users/{user_id}/latest/{type}         GetLatest
//   GET /v1/users/{user_id}/records/{type}?from=&to=&page_size=&page_token=
//                                                 ListRecords
//   GET /v1/updates?types=&user_ids=&reference_ids=&from_revision=&timeline=
//                                                 StreamUpdates (see OpenStream)
// {user_id} `-` with `?reference_id=R` asks by reference_id instead.
// `?raw=true` adds the record exactly as received as "raw" (verbatim JSON)
// instead of leaving it out.
//
// It talks to the store only through the gRPC interface (an in-process
// channel to this process's own EventStoreService, or the remote store's), so
// validation, errors and the stream's resume contract are the gRPC service's,
// written once.
//
// Every store call carries the request's Authorization header as its
// `authorization` metadata and is marked as made on behalf of the HTTP
// client (server/security/delegated_call.h), so the store authenticates it
// by that bearer token only, never by this channel's own certificate.
//
// Errors are JSON {"code":<grpc code>,"status":"NOT_FOUND","message":...}:
// INVALID_ARGUMENT 400, UNAUTHENTICATED 401 (with WWW-Authenticate: Bearer),
// PERMISSION_DENIED 403 (the message names the missing role or type, never
// data), NOT_FOUND 404, FAILED_PRECONDITION (other timeline) 409,
// OUT_OF_RANGE (no longer retained) 410, UNAVAILABLE 503, DEADLINE 504.
//
// Thread-safe; Handle and OpenStream may be called concurrently. They block
// on the store call (bounded by Options::call_deadline; streams until
// cancelled).
#ifndef HEALTHWIRE_SERVER_READAPI_READ_API_HANDLER_H_
#define HEALTHWIRE_SERVER_READAPI_READ_API_HANDLER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"

namespace healthwire {

struct ReadApiRequest {
  std::string method;  // "GET", ...
  std::string target;  // path and query, as on the request line
  std::string last_event_id;  // the Last-Event-ID header (SSE reconnect)
  std::string accept;         // the Accept header
  // The Authorization header, forwarded to the store call as its
  // `authorization` metadata: the store's Authorizer decides, as for any
  // gRPC client (same tokens, roles and type limits).
  std::string authorization;
  // The HTTP client's address, for the audit line's "on_behalf_of".
  std::string remote;
};

struct ReadApiReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra response header lines, each "Name: value\r\n" (401's
  // WWW-Authenticate).
  std::string headers;
};

// One open StreamUpdates call, read message by message. Not thread-safe
// except Cancel, which may be called from any thread.
class ReadApiStream {
 public:
  enum class Format { kServerSentEvents, kNdjson };
  ~ReadApiStream();

  Format format() const { return format_; }
  const std::string& content_type() const;
  const std::string& timeline() const { return timeline_; }

  // The next piece of the body: one SSE event or one NDJSON line. Blocks
  // until the store sends something (a change, or a progress message at
  // least every heartbeat). False when the call ended; `*chunk` then holds
  // the closing error event/line (possibly empty).
  bool Next(std::string* chunk);

  // Ends a pending or later Next (the client went away, shutdown).
  void Cancel() { context_.TryCancel(); }

 private:
  friend class ReadApiHandler;
  ReadApiStream() = default;

  Format format_ = Format::kServerSentEvents;
  bool raw_ = false;
  std::string timeline_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<v1::StreamUpdatesResponse>> reader_;
  bool finished_ = false;
};

class ReadApiHandler {
 public:
  struct Options {
    // Bound of each unary store call.
    absl::Duration call_deadline = absl::Seconds(10);
    // Streams ask the store for a progress message when nothing matching
    // happened for this long (sent as an SSE event / NDJSON line): it lets a
    // client checkpoint and lets the server notice a client that went away.
    absl::Duration heartbeat = absl::Seconds(15);
  };

  ReadApiHandler(std::shared_ptr<grpc::Channel> channel, Options options);

  // True for a request OpenStream takes (GET /v1/updates).
  static bool IsStream(const ReadApiRequest& request);

  // A unary request (everything but IsStream): its complete answer.
  ReadApiReply Handle(const ReadApiRequest& request);

  // Starts the StreamUpdates call of a stream request. Returns the stream
  // once the store accepted it, or the error reply (400 bad filter, 409 other
  // timeline, 410 no longer retained, 503 store unavailable).
  absl::StatusOr<std::unique_ptr<ReadApiStream>> OpenStream(const ReadApiRequest& request,
                                                            ReadApiReply* error);

  // Replies for what the session itself refuses.
  static ReadApiReply ErrorReply(int http_status, absl::string_view status_name,
                                 absl::string_view message);

 private:
  ReadApiReply FromStatus(const grpc::Status& status) const;
  // A unary call's context: deadline, the request's credentials; null when
  // its Authorization header cannot be forwarded.
  std::unique_ptr<grpc::ClientContext> CallContext(const ReadApiRequest& request) const;

  std::unique_ptr<v1::EventStore::Stub> stub_;
  const Options options_;
};

// The event as read-API JSON: protobuf's JSON mapping of `event` without
// raw_json, plus "raw": the raw JSON verbatim when `raw` (exposed for tests).
std::string EventJson(const v1::Event& event, bool raw);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_READAPI_READ_API_HANDLER_H_
