#include "server/fetch/s3_fetcher.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metrics_text.h"
#include "server/convert/terra_converter.h"
#include "storage/fetch_tracker.h"

namespace healthwire {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) /
                                      absl::Nanoseconds(1)));
}

// The log line of a fetch that will never succeed: never the URL's query
// (pre-signed credentials).
void LogFetch(const v1::S3Fetch& fetch, absl::string_view what) {
  logging::Warning("healthwire: s3_payload fetch failed",
                   {{"ping_revision", fetch.ping_revision()},
                    {"url", RedactedFetch(fetch).url()},
                    {"attempts", fetch.attempts()},
                    {"error", what}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3Fetcher>> S3Fetcher::Start(
    EventStore* store, Options options, std::unique_ptr<S3FetchRecorder> recorder) {
  if (options.concurrency < 1) {
    return absl::InvalidArgumentError("--s3_fetch_concurrency must be at least 1");
  }
  if (options.max_body_bytes == 0) {
    return absl::InvalidArgumentError("the s3_payload body limit (--max_body_mb) must be positive");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--s3_fetch_timeout must be positive");
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "--s3_fetch_backoff must be positive and at most --s3_fetch_max_backoff");
  }
  if (options.commit_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--s3_fetch_commit_timeout must be positive");
  }
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--s3_fetch_poll_interval must be positive");
  }
  if (!options.ca_file.empty()) {
    if (std::FILE* file = std::fopen(options.ca_file.c_str(), "r")) {
      std::fclose(file);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--s3_fetch_ca_file=", options.ca_file, " cannot be read"));
    }
  }
  absl::StatusOr<FetchUrlPolicy> policy = FetchUrlPolicy::Create(options.allowed_hosts);
  if (!policy.ok()) return policy.status();
  InitHttpsGet();
  if (recorder == nullptr) recorder = MakeStoreFetchRecorder(store);
  return std::unique_ptr<S3Fetcher>(
      new S3Fetcher(store, std::move(options), *std::move(policy), std::move(recorder)));
}

S3Fetcher::S3Fetcher(EventStore* store, Options options, FetchUrlPolicy policy,
                     std::unique_ptr<S3FetchRecorder> recorder)
    : store_(store),
      options_(std::move(options)),
      policy_(std::move(policy)),
      recorder_(std::move(recorder)),
      workers_(std::make_unique<Executor>(options_.concurrency)) {
  poller_ = std::thread([this] { PollLoop(); });
}

S3Fetcher::~S3Fetcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  poller_.join();
  // Attempts in progress finish (each bounded by the timeout); queued ones
  // are dropped: they stay PENDING in the store for the next start.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](absl::flat_hash_set<uint64_t>* in_flight) { return in_flight->empty(); }, &in_flight_));
}

absl::Duration S3Fetcher::BackoffAfter(int attempts) const {
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 1; i < attempts && backoff < options_.max_backoff; ++i) backoff *= 2;
  return std::min(backoff, options_.max_backoff);
}

void S3Fetcher::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::vector<v1::S3Fetch>> pending =
        store_->PendingFetches(options_.max_pending_scanned);
    const absl::Status ready = recorder_->ReadyToFetch();
    if (pending.ok()) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu_);
      pending_ = pending->size();
      not_ready_ = ready.ok() ? "" : std::string(ready.message());
      if (pending->size() < options_.max_pending_scanned) {
        // The whole pending set was read: forget what is no longer in it.
        absl::flat_hash_set<uint64_t> listed;
        for (const v1::S3Fetch& fetch : *pending) listed.insert(fetch.ping_revision());
        absl::erase_if(resolved_, [&](uint64_t id) { return !listed.contains(id); });
        absl::erase_if(attempts_, [&](const auto& entry) { return !listed.contains(entry.first); });
      }
      for (v1::S3Fetch& fetch : *pending) {
        if (!ready.ok()) break;
        if (stopping_ || static_cast<int>(in_flight_.size()) >= options_.concurrency) break;
        const uint64_t id = fetch.ping_revision();
        if (in_flight_.contains(id) || resolved_.contains(id)) continue;
        if (auto it = not_before_.find(id); it != not_before_.end() && it->second > now) continue;
        if (auto it = attempts_.find(id); it != attempts_.end()) {
          fetch.set_attempts(std::max(fetch.attempts(), it->second.first));
          fetch.set_last_error(it->second.second);
        }
        in_flight_.insert(id);
        auto shared = std::make_shared<v1::S3Fetch>(std::move(fetch));
        workers_->Schedule([this, shared] { Attempt(std::move(*shared)); });
      }
    } else {
      logging::Error("healthwire: cannot read the pending s3_payload fetches",
                     {{"error", pending.status().ToString()}});
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval);
  }
}

void S3Fetcher::Attempt(v1::S3Fetch fetch) {
  const uint64_t id = fetch.ping_revision();
  const absl::Time now = absl::Now();
  if (absl::Status allowed = policy_.Check(fetch.url()); !allowed.ok()) {
    refused_.fetch_add(1);
    fetch.set_state(v1::S3Fetch::STATE_FAILED);
    fetch.set_last_error(std::string(allowed.message()));
    SetTimestamp(now, fetch.mutable_last_attempt_at());
    LogFetch(fetch, absl::StrCat("refused: ", allowed.message()));
    Commit({}, std::move(fetch));
    return;
  }
  if (now >= ToTime(fetch.expires_at())) {
    RecordFailedAttempt(std::move(fetch), "the URL expired before it could be fetched", now);
    return;
  }
  HttpsGetOptions get;
  get.ca_file = options_.ca_file;
  get.max_body_bytes = options_.max_body_bytes;
  get.timeout = options_.timeout;
  absl::StatusOr<HttpsGetResponse> response = HttpsGet(fetch.url(), get);
  const absl::Time done = absl::Now();
  fetch.set_attempts(fetch.attempts() + 1);
  SetTimestamp(done, fetch.mutable_last_attempt_at());
  if (!response.ok()) {
    if (absl::IsResourceExhausted(response.status())) {
      failed_.fetch_add(1);
      fetch.set_state(v1::S3Fetch::STATE_FAILED);
      fetch.set_last_error(std::string(response.status().message()));
      LogFetch(fetch, absl::StrCat("failed: ", response.status().message()));
      Commit({}, std::move(fetch));
      return;
    }
    RecordFailedAttempt(std::move(fetch), std::string(response.status().message()), done);
    return;
  }
  if (response->status != 200) {
    RecordFailedAttempt(std::move(fetch), absl::StrCat("HTTP ", response->status), done);
    return;
  }
  bytes_.fetch_add(response->body.size());

  DeliveryContext context;
  context.received_at = done;
  if (fetch.has_ordering_timestamp_ms()) {
    context.ordering_timestamp_ms = fetch.ordering_timestamp_ms();
  }
  context.trace_id = fetch.trace_id();
  context.terra_reference = fetch.terra_reference();
  context.s3_ping_revision = id;
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(response->body, context);
  if (!converted.ok()) {
    failed_.fetch_add(1);
    fetch.set_state(v1::S3Fetch::STATE_FAILED);
    fetch.set_last_error(absl::StrCat("the fetched body is not a webhook healthwire can read: ",
                                      converted.status().message()));
    LogFetch(fetch, fetch.last_error());
    Commit({}, std::move(fetch));
    return;
  }
  fetch.set_fetched_type(converted->terra_type);
  fetch.set_last_error("");
  if (converted->terra_type == "s3_payload") {
    // Stored (nothing Terra sends is dropped) but not followed: a chain of
    // pings would let one delivery make the fetcher walk any number of URLs.
    failed_.fetch_add(1);
    fetch.set_state(v1::S3Fetch::STATE_FAILED);
    fetch.set_last_error("the fetched body is itself an s3_payload ping; not followed");
    LogFetch(fetch, fetch.last_error());
  } else {
    fetched_.fetch_add(1);
    fetch.set_state(v1::S3Fetch::STATE_FETCHED);
  }
  Commit(std::move(converted->events), std::move(fetch));
}

void S3Fetcher::RecordFailedAttempt(v1::S3Fetch fetch, const std::string& error, absl::Time now) {
  fetch.set_last_error(error);
  const absl::Time next = now + BackoffAfter(fetch.attempts());
  if (next >= ToTime(fetch.expires_at())) {
    failed_.fetch_add(1);
    fetch.set_state(v1::S3Fetch::STATE_FAILED);
    fetch.set_last_error(absl::StrCat("the URL expired after ", fetch.attempts(),
                                      " attempt(s); last error: ", error));
    LogFetch(fetch, absl::StrCat("failed: ", fetch.last_error()));
  } else {
    retries_.fetch_add(1);
    absl::MutexLock lock(&mu_);
    not_before_[fetch.ping_revision()] = next;
  }
  Commit({}, std::move(fetch));
}

void S3Fetcher::Commit(std::vector<v1::Event> events, v1::S3Fetch outcome) {
  const uint64_t id = outcome.ping_revision();
  const bool pending = outcome.state() == v1::S3Fetch::STATE_PENDING;
  if (pending && !recorder_->RecordsAttempts()) {
    // Only final outcomes go to the log: remember the attempt here.
    absl::MutexLock lock(&mu_);
    attempts_[id] = {outcome.attempts(), outcome.last_error()};
    in_flight_.erase(id);
    return;
  }
  // The callback may run on the store's writer or a nats.c thread:
  // bookkeeping only.
  recorder_->Record(
      std::move(events), std::move(outcome), options_.commit_timeout,
      [this, id, pending](absl::Status recorded) {
        absl::MutexLock lock(&mu_);
        if (!recorded.ok()) {
          // Still PENDING in the store: tried again after a backoff.
          logging::Warning("healthwire: cannot record an s3_payload fetch; retrying",
                           {{"ping_revision", id}, {"error", recorded.ToString()}});
          not_before_[id] = absl::Now() + options_.initial_backoff;
        } else if (!pending) {
          not_before_.erase(id);
          attempts_.erase(id);
          resolved_.insert(id);
        }
        in_flight_.erase(id);
      });
}

std::string S3Fetcher::MetricsText() const {
  size_t in_flight = 0, pending = 0;
  bool waiting = false;
  {
    absl::MutexLock lock(&mu_);
    in_flight = in_flight_.size();
    pending = pending_;
    waiting = !not_ready_.empty();
  }
  std::string text;
  AppendMetricHeader(
      &text, "healthwire_s3_fetches_total", "counter",
      "s3_payload fetches by outcome (fetched, failed: never will be, refused: URL not allowed).");
  AppendSample(&text, "healthwire_s3_fetches_total", "outcome=\"fetched\"", fetched_.load());
  AppendSample(&text, "healthwire_s3_fetches_total", "outcome=\"failed\"", failed_.load());
  AppendSample(&text, "healthwire_s3_fetches_total", "outcome=\"refused\"", refused_.load());
  AppendCounter(&text, "healthwire_s3_fetch_retries_total",
                "Failed s3_payload fetch attempts retried later.", retries_.load());
  AppendCounter(&text, "healthwire_s3_fetch_bytes_total", "Bytes of fetched s3_payload bodies.",
                bytes_.load());
  AppendGauge(&text, "healthwire_s3_fetches_in_flight",
              "s3_payload fetches in progress (at most --s3_fetch_concurrency).", in_flight);
  AppendGauge(&text, "healthwire_s3_fetches_pending",
              "s3_payload fetches not done yet (last poll).", pending);
  AppendGauge(&text, "healthwire_s3_fetch_waiting",
              "1 while no fetch may start (a cluster replica behind the commit log: a later entry "
              "may hold the outcome).",
              waiting ? 1 : 0);
  absl::StrAppend(&text, recorder_->MetricsText());
  return text;
}

}  // namespace healthwire
