#include "storage/commit_log/commit_log.h"

#include <nats/nats.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace {

// Room left in a message for its headers (Nats-Msg-Id and the like are well
// below 1 KiB; the server limits headers to 64 KiB).
constexpr size_t kHeaderRoom = 4096;

int64_t ToMillis(absl::Duration d) { return std::max<int64_t>(1, absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::Status NatsStatus(int nats_status, int js_error_code, absl::string_view what) {
  const natsStatus s = static_cast<natsStatus>(nats_status);
  if (s == NATS_OK) return absl::OkStatus();
  std::string detail = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') detail = last;
  if (js_error_code != 0) absl::StrAppend(&detail, " (JetStream error ", js_error_code, ")");
  const std::string message = absl::StrCat(what, ": ", detail);
  switch (s) {
    case NATS_TIMEOUT:
      return absl::DeadlineExceededError(message);
    case NATS_NO_MEMORY:
      return absl::ResourceExhaustedError(message);
    case NATS_INVALID_ARG:
      return absl::InvalidArgumentError(message);
    case NATS_NOT_FOUND:
      return absl::NotFoundError(message);
    default:
      // No responders (no JetStream, no stream leader), connection lost or
      // reconnecting, JetStream temporarily unavailable (no quorum), and
      // the server's other refusals: retry later.
      return absl::UnavailableError(message);
  }
}

absl::StatusOr<std::vector<std::string>> ParseLogUrls(absl::string_view urls) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(urls, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    if (!absl::StartsWith(part, "nats://") && !absl::StartsWith(part, "tls://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--log: '", part, "' is not a nats:// URL (expected nats://host:port[,nats://...])"));
    }
    out.emplace_back(part);
  }
  if (out.empty()) return absl::InvalidArgumentError("--log: no nats:// URL given");
  return out;
}

absl::StatusOr<std::unique_ptr<CommitLog>> CommitLog::Connect(const CommitLogOptions& options) {
  if (options.servers.empty()) return absl::InvalidArgumentError("commit log: no server URLs");
  if (options.replicas < 1 || options.replicas > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("commit log: replicas must be 1..5 (got ", options.replicas, ")"));
  }
  if (options.max_message_bytes < 64 * 1024) {
    return absl::InvalidArgumentError("commit log: max_message_bytes must be at least 64 KiB");
  }
  std::unique_ptr<CommitLog> log(new CommitLog(options));

  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> servers;
  for (const std::string& url : options.servers) servers.push_back(url.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, options.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, ToMillis(options.api_timeout));
  // Reconnect forever, quickly: a lost server must not stop this process.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, options.reconnect_buffer_bytes);
  // Notice a dead server within a few seconds, not the default 2 minutes.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 3);
  if (s == NATS_OK) s = natsConnection_Connect(&log->connection_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    return NatsStatus(s, 0,
                      absl::StrCat("cannot connect to the log at ", absl::StrJoin(options.servers, ",")));
  }

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = ToMillis(options.api_timeout);
  // Our own limit (LogPublisher) refuses before this one would stall a caller.
  js_options.PublishAsync.MaxPending = options.max_pending_publishes + 64;
  js_options.PublishAsync.AckHandler = &CommitLog::OnPubAck;
  js_options.PublishAsync.AckHandlerClosure = log.get();
  s = natsConnection_JetStream(&log->js_, log->connection_, &js_options);
  if (s != NATS_OK) return NatsStatus(s, 0, "cannot create a JetStream context");
  return log;
}

CommitLog::~CommitLog() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
}

void CommitLog::SetAckHandler(AckHandler handler, void* closure) {
  absl::MutexLock lock(&ack_mu_);
  ack_handler_ = handler;
  ack_closure_ = closure;
}

void CommitLog::OnPubAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto* log = static_cast<CommitLog*>(closure);
  // Held while the handler runs, so a publisher that unregisters is not
  // called after its destructor returned. (Handlers are short and do not
  // call SetAckHandler.) Reader lock: nats.c may call from several threads.
  absl::ReaderMutexLock lock(&log->ack_mu_);
  if (log->ack_handler_ != nullptr) {
    log->ack_handler_(msg, ack, error, log->ack_closure_);
  } else {
    natsMsg_Destroy(msg);
  }
}

bool CommitLog::IsConnected() const {
  return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

size_t CommitLog::MessageLimit() const {
  size_t limit = options_.max_message_bytes;
  const int64_t server = natsConnection_GetMaxPayload(connection_);
  if (server > 0) limit = std::min(limit, static_cast<size_t>(server));
  return limit > 2 * kHeaderRoom ? limit - kHeaderRoom : limit / 2;
}

absl::Status CommitLog::CheckExistingStream(const jsStreamConfig& want) const {
  jsStreamInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  jsOptions o;
  jsOptions_Init(&o);
  natsStatus s = js_GetStreamInfo(&info, js_, want.Name, &o, &err);
  if (s != NATS_OK) return NatsStatus(s, err, absl::StrCat("stream info of ", want.Name));
  const jsStreamConfig& have = *info->Config;
  std::string problem;
  const std::string subjects =
      have.SubjectsLen > 0 ? absl::StrJoin(have.Subjects, have.Subjects + have.SubjectsLen, ",") : "";
  if (subjects != want.Subjects[0]) {
    problem = absl::StrCat("subjects are '", subjects, "', need '", want.Subjects[0], "'");
  } else if (have.Storage != js_FileStorage) {
    problem = "storage is memory, need file";
  } else if (have.Replicas != want.Replicas) {
    problem = absl::StrCat("replicas are ", have.Replicas, ", need ", want.Replicas,
                           " (--log_replicas must match the stream's)");
  } else if (have.Retention != js_LimitsPolicy) {
    problem = "retention is not limits";
  } else if (have.DenyDelete) {
    problem = "DenyDelete is set (erasure must be able to delete messages)";
  } else if (have.MaxMsgSize > 0 && static_cast<size_t>(have.MaxMsgSize) < MessageLimit()) {
    problem = absl::StrCat("max message size is ", have.MaxMsgSize, ", need at least ",
                           MessageLimit());
  } else if (have.Duplicates <= 0) {
    problem = "no duplicate window";
  }
  jsStreamInfo_Destroy(info);
  if (problem.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("stream ", want.Name, " exists with other settings: ", problem));
}

absl::Status CommitLog::EnsureStream(absl::Time deadline) {
  const std::string subjects = options_.subject_prefix + ".>";
  const char* subject_list[] = {subjects.c_str()};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = options_.stream.c_str();
  config.Description = "healthwire commit log: webhook deliveries in commit order";
  config.Subjects = subject_list;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Replicas = options_.replicas;
  config.Retention = js_LimitsPolicy;
  // Keep everything: a new replica starts from empty by replaying the stream.
  config.MaxMsgs = -1;
  config.MaxBytes = -1;
  config.MaxAge = 0;
  config.MaxMsgSize = -1;
  config.Duplicates = absl::ToInt64Nanoseconds(options_.duplicate_window);
  config.DenyDelete = false;  // erasure removes a person's messages
  config.DenyPurge = false;

  absl::Status last = absl::DeadlineExceededError("no attempt made");
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    jsStreamInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, config.Name, nullptr, &err);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(info);
      return CheckExistingStream(config);
    }
    if (s == NATS_NOT_FOUND || err == JSStreamNotFoundErr) {
      s = js_AddStream(&info, js_, &config, nullptr, &err);
      if (s == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return absl::OkStatus();
      }
      // Another process created it first: check what it created.
      if (err == JSStreamNameExistErr) return CheckExistingStream(config);
      last = NatsStatus(s, err, absl::StrCat("cannot create stream ", options_.stream));
      // A single server without a cluster will not grow one. (No peers for
      // the replicas may be a cluster still starting: retried.)
      if (err == JSStreamReplicasNotSupportedErr) {
        return absl::FailedPreconditionError(absl::StrCat(
            last.message(), ": the server is not clustered; use --log_replicas=1 or a cluster"));
      }
    } else {
      last = NatsStatus(s, err, absl::StrCat("stream info of ", options_.stream));
    }
    if (absl::Now() + backoff >= deadline) {
      return absl::Status(last.code(), absl::StrCat(last.message(),
                                                   " (JetStream not ready before the deadline)"));
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
}

absl::StatusOr<StreamState> CommitLog::GetStreamState(absl::Duration timeout) {
  jsStreamInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  jsOptions o;
  jsOptions_Init(&o);
  if (timeout > absl::ZeroDuration()) o.Wait = ToMillis(timeout);
  natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), &o, &err);
  if (s != NATS_OK) return NatsStatus(s, err, absl::StrCat("stream info of ", options_.stream));
  StreamState state;
  state.first_sequence = info->State.FirstSeq;
  state.last_sequence = info->State.LastSeq;
  state.messages = info->State.Msgs;
  state.bytes = info->State.Bytes;
  state.created = absl::FromUnixNanos(info->Created);
  if (info->Cluster != nullptr && info->Cluster->Leader != nullptr) {
    state.leader = info->Cluster->Leader;
  }
  jsStreamInfo_Destroy(info);
  return state;
}

}  // namespace healthwire
