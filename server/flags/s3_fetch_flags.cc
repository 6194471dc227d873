// Flags of the s3_payload fetcher (ping mode), in the binaries that run a
// store (healthwire, healthwire_store, also as a cluster replica): the
// fetcher runs beside the store.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"

ABSL_FLAG(bool, s3_fetch, true,
          "Fetch the bodies of s3_payload pings (ping mode) and ingest them (a cluster replica "
          "publishes each outcome to the commit log). false: pings are stored and their fetches "
          "stay pending.");
ABSL_FLAG(std::string, s3_fetch_allowed_hosts, healthwire::kDefaultS3FetchAllowedHosts,
          "Comma-separated hosts an s3_payload url may point at (`*` = one or more characters; "
          "`host:port` or `host:*` for other ports than 443). Only https is ever fetched.");
ABSL_FLAG(std::string, s3_fetch_ca_file, "",
          "PEM file of CA certificates the fetcher trusts instead of the system's (tests, "
          "private S3 endpoints).");
ABSL_FLAG(uint64_t, s3_fetch_max_body_mb, 0,
          "Largest fetched s3_payload body in MiB; 0 = --max_body_mb (64 in healthwire_store).");
ABSL_FLAG(absl::Duration, s3_fetch_timeout, absl::Seconds(60),
          "One fetch attempt, connect to last byte.");
ABSL_FLAG(int, s3_fetch_concurrency, 4, "s3_payload fetches in progress at once.");
ABSL_FLAG(absl::Duration, s3_fetch_backoff, absl::Seconds(1),
          "Wait after the first failed attempt; doubles per attempt up to --s3_fetch_max_backoff, "
          "while the URL has not expired (expires_in).");
ABSL_FLAG(absl::Duration, s3_fetch_max_backoff, absl::Seconds(60),
          "Longest wait between two attempts.");
ABSL_FLAG(absl::Duration, s3_fetch_commit_timeout, absl::Seconds(30),
          "How long a fetched body's commit may wait for the store's writer (a cluster replica: "
          "for the log's PubAck); later it is refused (nothing written) and the fetch retried.");
ABSL_FLAG(absl::Duration, s3_fetch_poll_interval, absl::Milliseconds(250),
          "How often the fetcher looks for new pending fetches in the store.");

namespace healthwire {

void ApplyS3FetchFlags(HealthwireServer::Options* options) {
  options->run_s3_fetcher = absl::GetFlag(FLAGS_s3_fetch);
  S3Fetcher::Options& fetch = options->s3_fetch;
  fetch.allowed_hosts = absl::GetFlag(FLAGS_s3_fetch_allowed_hosts);
  if (!absl::GetFlag(FLAGS_s3_fetch_ca_file).empty()) {
    fetch.ca_file = ResolveUserPath(absl::GetFlag(FLAGS_s3_fetch_ca_file));
  }
  fetch.max_body_bytes = absl::GetFlag(FLAGS_s3_fetch_max_body_mb) != 0
                             ? absl::GetFlag(FLAGS_s3_fetch_max_body_mb) << 20
                             : options->gateway.max_body_bytes;
  fetch.timeout = absl::GetFlag(FLAGS_s3_fetch_timeout);
  fetch.concurrency = absl::GetFlag(FLAGS_s3_fetch_concurrency);
  fetch.initial_backoff = absl::GetFlag(FLAGS_s3_fetch_backoff);
  fetch.max_backoff = absl::GetFlag(FLAGS_s3_fetch_max_backoff);
  fetch.poll_interval = absl::GetFlag(FLAGS_s3_fetch_poll_interval);
  fetch.commit_timeout = absl::GetFlag(FLAGS_s3_fetch_commit_timeout);
}

}  // namespace healthwire
