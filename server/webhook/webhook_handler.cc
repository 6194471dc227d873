#include "server/webhook/webhook_handler.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "server/convert/terra_converter.h"

namespace healthwire {
namespace {

constexpr char kStoreUnavailable[] = "store unavailable, retry later";

// The metrics reason for a SignatureVerifier failure (its messages are fixed).
std::string SignatureFailureReason(absl::string_view message) {
  if (absl::StartsWith(message, "missing")) return "missing_signature";
  if (absl::StartsWith(message, "malformed")) return "malformed_signature";
  if (absl::StartsWith(message, "signature timestamp")) return "expired_signature";
  return "signature_mismatch";
}

std::string StoreFailureReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "store_unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "store_deadline_exceeded";
    case absl::StatusCode::kResourceExhausted:
      return "store_resource_exhausted";
    default:
      return "store_error";
  }
}

HttpReply StoreFailureReply(const absl::Status& status) {
  HttpReply reply = ErrorReply(503, StoreFailureReason(status), kStoreUnavailable);
  reply.retry_after = true;
  reply.log_detail = status.ToString();
  return reply;
}

HttpReply MethodNotAllowed(absl::string_view allow, absl::string_view error, ReplyKind kind) {
  HttpReply reply = ErrorReply(405, "method_not_allowed", error);
  reply.allow = std::string(allow);
  reply.kind = kind;
  return reply;
}

std::string OkJson(size_t events, int stored, int identical, int stale, uint64_t revision,
                   int schema_problems) {
  return absl::StrCat("{\"status\":\"ok\",\"events\":", events, ",\"stored\":", stored,
                      ",\"identical\":", identical, ",\"stale\":", stale,
                      ",\"revision\":", revision, ",\"schema_problems\":", schema_problems, "}");
}

// Cluster mode's 2xx: the gateway knows where the delivery is in the commit
// log, not what the replicas make of it (stored / identical / stale and the
// revision are decided by each replica, the same on all, after the PubAck),
// so those fields are left out rather than reported as zeros. `log_sequence`
// 0 (a healthcheck: nothing published) is left out too.
std::string LogOkJson(size_t events, uint64_t log_sequence, int schema_problems) {
  std::string json = absl::StrCat("{\"status\":\"ok\",\"events\":", events);
  if (log_sequence != 0) absl::StrAppend(&json, ",\"log_sequence\":", log_sequence);
  absl::StrAppend(&json, ",\"schema_problems\":", schema_problems, "}");
  return json;
}

}  // namespace

absl::string_view WebhookRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

absl::StatusOr<std::shared_ptr<WebhookHandler>> WebhookHandler::Create(Options options,
                                                                      Ingestor* ingestor) {
  if (ingestor == nullptr) return absl::InvalidArgumentError("no ingestor");
  if (options.max_body_bytes == 0) {
    return absl::InvalidArgumentError("max_body_bytes must be positive");
  }
  if (options.ingest_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ingest deadline must be positive (got ", absl::FormatDuration(options.ingest_deadline),
        "): with no time to commit, every webhook would be answered 503"));
  }
  if (options.workers < 1) return absl::InvalidArgumentError("workers must be at least 1");
  if (options.worker_queue_limit < 0) {
    return absl::InvalidArgumentError("worker queue limit must not be negative");
  }
  if (!absl::StartsWith(options.webhook_path, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook path '", options.webhook_path, "' must start with '/'"));
  }
  absl::StatusOr<SignatureVerifier> verifier =
      SignatureVerifier::Create(options.signing_secrets, options.signature);
  if (!verifier.ok()) return verifier.status();
  return std::shared_ptr<WebhookHandler>(
      new WebhookHandler(std::move(options), *std::move(verifier), ingestor));
}

WebhookHandler::WebhookHandler(Options options, SignatureVerifier verifier, Ingestor* ingestor)
    : options_(std::move(options)),
      verifier_(std::move(verifier)),
      ingestor_(ingestor),
      workers_(std::make_unique<Executor>(options_.workers)) {}

// Queued tasks are dropped with the pool; by then no session waits for them
// (the gateway shut down first).
WebhookHandler::~WebhookHandler() = default;

void WebhookHandler::Handle(WebhookRequest request, ReplyCallback done) {
  const absl::string_view target = request.target;
  const absl::string_view path = target.substr(0, target.find('?'));

  if (path == options_.webhook_path) {
    if (request.method != "POST") {
      done(MethodNotAllowed("POST", "method not allowed; webhooks are POSTed",
                            ReplyKind::kWebhook));
      return;
    }
    HandleWebhook(std::move(request), std::move(done));
    return;
  }
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (request.method != "GET") {
      done(MethodNotAllowed("GET", "method not allowed", ReplyKind::kProbe));
      return;
    }
    HttpReply reply = Probe(path);
    reply.endpoint = std::string(path.substr(1));
    done(std::move(reply));
    return;
  }
  HttpReply reply = ErrorReply(404, "not_found", "not found");
  reply.kind = ReplyKind::kOther;
  done(std::move(reply));
}

HttpReply WebhookHandler::Probe(absl::string_view path) {
  HttpReply reply;
  reply.kind = ReplyKind::kProbe;
  if (path == "/healthz") {
    reply.body = "{\"status\":\"ok\"}";
    return reply;
  }
  if (path == "/readyz") {
    if (draining()) {
      reply = ErrorReply(503, "not_ready", "shutting down");
    } else if (const absl::Status ready = ingestor_->CheckReady(); !ready.ok()) {
      reply = ErrorReply(503, "not_ready", absl::StrCat("not ready: ", ready.message()));
      reply.log_detail = ready.ToString();
    } else {
      reply.body = "{\"status\":\"ok\"}";
    }
    reply.kind = ReplyKind::kProbe;
    return reply;
  }
  reply.body = metrics_.RenderPrometheusText(
      ingestor_->KnowsStoreOutcomes() ? std::optional<uint64_t>(ingestor_->CurrentRevision())
                                      : std::nullopt);
  if (options_.extra_metrics) reply.body += options_.extra_metrics();
  reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return reply;
}

void WebhookHandler::HandleWebhook(WebhookRequest request, ReplyCallback done) {
  if (request.body.size() > options_.max_body_bytes) {
    done(ErrorReply(413, "body_too_large", absl::StrCat("request body larger than ",
                                                        options_.max_body_bytes, " bytes")));
    return;
  }
  if (request.body.size() <= options_.inline_body_bytes) {
    VerifyConvertIngest(std::move(request), std::move(done));
    return;
  }
  // Large: off the caller's (io) thread.
  if (worker_queue_depth_.fetch_add(1) >= options_.worker_queue_limit) {
    worker_queue_depth_.fetch_sub(1);
    HttpReply reply = ErrorReply(503, "workers_busy", "too many large webhooks at once, retry later");
    reply.retry_after = true;
    done(std::move(reply));
    return;
  }
  metrics_.SetWorkerState(workers_busy_.load(), worker_queue_depth_.load());
  // The Executor's tasks are copyable std::functions: the move-only parts
  // travel in a shared holder.
  auto work = std::make_shared<std::pair<WebhookRequest, ReplyCallback>>(std::move(request),
                                                                        std::move(done));
  workers_->Schedule([this, work] { RunOnWorker(std::move(work->first), std::move(work->second)); });
}

void WebhookHandler::RunOnWorker(WebhookRequest request, ReplyCallback done) {
  worker_queue_depth_.fetch_sub(1);
  workers_busy_.fetch_add(1);
  metrics_.SetWorkerState(workers_busy_.load(), worker_queue_depth_.load());
  if (absl::Now() >= request.received_at + options_.ingest_deadline) {
    // Nothing was handed to the store: the 503 is the whole truth.
    done(StoreFailureReply(absl::DeadlineExceededError(
        "the webhook waited for a worker past its ingest deadline")));
  } else {
    VerifyConvertIngest(std::move(request), std::move(done));
  }
  workers_busy_.fetch_sub(1);
  metrics_.SetWorkerState(workers_busy_.load(), worker_queue_depth_.load());
}

void WebhookHandler::WarnAboutSchema(const ConvertedWebhook& converted,
                                     absl::string_view trace_id) const {
  // Field paths only (JSON keys, never their values): what an operator needs
  // to see Terra's schema drift.
  int unknown = 0;
  std::vector<std::string> paths;
  for (const v1::Event& event : converted.events) {
    unknown += event.type() == v1::EVENT_TYPE_UNKNOWN;
    for (const v1::ConversionProblem& problem : event.conversion_problems()) {
      if (paths.size() < 3 && std::find(paths.begin(), paths.end(), problem.field_path()) ==
                                  paths.end()) {
        paths.push_back(problem.field_path());
      }
    }
  }
  const std::string user =
      converted.events.empty() ? "" : Printable(converted.events.front().user().user_id());
  if (unknown > 0) {
    logging::Warning("webhook of an unknown type, stored raw as EVENT_TYPE_UNKNOWN",
                     {{"type", Printable(converted.terra_type)},
                      {"user", user},
                      {"events", unknown},
                      {"trace_id", Printable(trace_id)}});
  }
  if (converted.events_with_problems > 0) {
    logging::Warning("records that do not fit the typed schema (stored raw, flagged)",
                     {{"type", Printable(converted.terra_type)},
                      {"user", user},
                      {"events_with_problems", converted.events_with_problems},
                      {"field_paths", Printable(absl::StrJoin(paths, ","), 300)},
                      {"trace_id", Printable(trace_id)}});
  }
}

void WebhookHandler::VerifyConvertIngest(WebhookRequest request, ReplyCallback done) {
  absl::string_view signature = request.Header("terra-signature");
  if (absl::StripAsciiWhitespace(signature).empty()) {
    signature = request.Header("X-Terra-Signature");
  }
  const absl::Time now = request.received_at;
  const absl::Status verified = verifier_.Verify(signature, request.body, now);
  if (!verified.ok()) {
    if (absl::IsUnauthenticated(verified)) {
      done(ErrorReply(401, SignatureFailureReason(verified.message()), verified.message()));
    } else {  // OpenSSL itself failed: not the sender's fault
      HttpReply reply = ErrorReply(503, "signature_check_failed",
                                   "could not check the signature, retry later");
      reply.retry_after = true;
      reply.log_detail = verified.ToString();
      done(std::move(reply));
    }
    return;
  }

  DeliveryContext context;
  context.received_at = now;
  int64_t ordering_timestamp_ms = 0;
  // Unparseable: delivered without ordering information, not rejected.
  if (absl::SimpleAtoi(request.Header("x-terra-ordering-timestamp"), &ordering_timestamp_ms)) {
    context.ordering_timestamp_ms = ordering_timestamp_ms;
  }
  context.trace_id = std::string(request.Header("X-Terra-Trace-Id"));
  context.terra_reference = std::string(request.Header("terra-reference"));

  // The converter takes the body: it parses a large one in place and moves it
  // into the record's raw JSON instead of copying (one 60 MB webhook is not
  // held four times).
  absl::StatusOr<ConvertedWebhook> converted =
      ConvertOwnedTerraWebhook(std::move(request.body), context);
  if (!converted.ok()) {
    if (absl::IsInvalidArgument(converted.status())) {
      done(ErrorReply(400, "invalid_envelope", converted.status().message()));
    } else {
      HttpReply reply = ErrorReply(500, "conversion_failed", "could not convert the webhook");
      reply.log_detail = converted.status().ToString();
      done(std::move(reply));
    }
    return;
  }
  WebhookSummary summary;
  summary.terra_type = converted->terra_type;
  summary.events = static_cast<int>(converted->events.size());
  summary.schema_problems = converted->events_with_problems;
  if (!converted->events.empty()) summary.user_id = converted->events.front().user().user_id();
  if (converted->events.empty()) {  // healthcheck: nothing to commit
    HttpReply reply;
    reply.reason = "no_events";
    if (ingestor_->KnowsStoreOutcomes()) {
      reply.body = OkJson(0, 0, 0, 0, ingestor_->CurrentRevision(), 0);
      summary.revision = ingestor_->CurrentRevision();
    } else {
      reply.body = LogOkJson(0, 0, 0);
    }
    reply.webhook = std::move(summary);
    done(std::move(reply));
    return;
  }
  WarnAboutSchema(*converted, context.trace_id);

  std::vector<v1::EventType> event_types;
  event_types.reserve(converted->events.size());
  for (const v1::Event& event : converted->events) event_types.push_back(event.type());
  const int events_with_problems = converted->events_with_problems;
  ingestor_->Ingest(std::move(converted->events), now + options_.ingest_deadline,
                    [self = shared_from_this(), event_types = std::move(event_types),
                     events_with_problems, summary = std::move(summary),
                     done = std::move(done)](absl::StatusOr<v1::IngestResponse> result) mutable {
                      self->OnIngested(std::move(event_types), events_with_problems,
                                       std::move(summary), std::move(result), done);
                    });
}

void WebhookHandler::OnIngested(std::vector<v1::EventType> event_types, int events_with_problems,
                                WebhookSummary summary,
                                absl::StatusOr<v1::IngestResponse> result,
                                const ReplyCallback& done) {
  if (absl::IsInvalidArgument(result.status())) {
    // The store refused the events for their content (an id over its
    // limit, a missing field), nothing was written: a retry of the same body
    // would be refused again, so this is the sender's 400, not a 503. The
    // store's messages name the field and quote at most a prefix of an id.
    HttpReply reply = ErrorReply(
        400, "invalid_event", absl::StrCat("the store refused the webhook: ", result.status().message()));
    reply.log_detail = result.status().ToString();
    done(std::move(reply));
    return;
  }
  if (!result.ok()) {
    HttpReply reply = StoreFailureReply(result.status());
    reply.webhook = std::move(summary);
    done(std::move(reply));
    return;
  }
  int stored = 0, identical = 0, stale = 0;
  for (const v1::IngestResult& r : result->results()) {
    stored += r.outcome() == v1::IngestResult::OUTCOME_STORED;
    identical += r.outcome() == v1::IngestResult::OUTCOME_IDENTICAL;
    stale += r.outcome() == v1::IngestResult::OUTCOME_STALE;
  }
  metrics_.RecordIngested(event_types, *result);
  metrics_.RecordSchemaProblemEvents(events_with_problems);
  HttpReply reply;
  if (!ingestor_->KnowsStoreOutcomes()) {
    // Cluster mode: where the delivery is in the commit log (read your own
    // write on any replica once it has applied this sequence).
    reply.body = LogOkJson(event_types.size(), result->log_sequence(), events_with_problems);
    summary.log_sequence = result->log_sequence();
    reply.webhook = std::move(summary);
    done(std::move(reply));
    return;
  }
  reply.body = OkJson(event_types.size(), stored, identical, stale, result->store_revision(),
                      events_with_problems);
  summary.stored = stored;
  summary.identical = identical;
  summary.stale = stale;
  summary.revision = result->store_revision();
  reply.webhook = std::move(summary);
  done(std::move(reply));
}

}  // namespace healthwire
