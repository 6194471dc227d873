// hwctl replicas: the store replicas registered in a commit log's replica
// registry (cluster mode), how far each has applied the log, and how far
// erasures have deleted the log's messages; --forget removes a replica that
// is gone for good, so erasures stop waiting for it.
//
// Talks to the NATS servers (the registry is a JetStream key-value bucket
// beside the stream, storage/replica/replica_registry.h), not to a store.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/commit_log/commit_log.h"
#include "storage/replica/replica_registry.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"

ABSL_FLAG(std::string, log, "",
          "the commit log's NATS servers, nats://host:port[,nats://...] (healthwire_store's --log)");
ABSL_FLAG(std::string, log_stream, "HEALTHWIRE", "the JetStream stream (--log_stream)");
ABSL_FLAG(std::string, forget, "",
          "remove this replica id from the registry (a replica stopped for good: erasures stop "
          "waiting for it; started again, it refuses to start if an erasure deleted messages it "
          "has not applied)");

namespace healthwire {
namespace hwctl {
namespace {

int RunReplicas(const ParsedArguments& arguments);

const Subcommand& Command() {
  static const Subcommand* const command = new Subcommand{
      "replicas",
      "--log nats://HOST:PORT[,...] [--log-stream NAME] [--forget ID] [--json]",
      "Cluster mode: list the registered store replicas (or --forget one).",
      "Erased people's messages are deleted from the commit log once every registered\n"
      "replica has applied the erasure; a replica that is gone for good blocks that until it\n"
      "is forgotten. `erased through` is the last erasure whose messages may be gone: a\n"
      "replica whose data folder is behind it cannot catch up from the log and must start\n"
      "from a checkpoint of a running replica.",
      {"log", "log_stream", "forget", "json", "timeout"},
      &RunReplicas,
  };
  return *command;
}

int RunReplicas(const ParsedArguments& arguments) {
  if (!arguments.positional.empty()) {
    return UsageError(Command(), "takes no positional arguments");
  }
  if (absl::GetFlag(FLAGS_log).empty()) {
    return UsageError(Command(), "--log is required (the NATS servers of the commit log)");
  }
  absl::StatusOr<std::vector<std::string>> servers = ParseLogUrls(absl::GetFlag(FLAGS_log));
  if (!servers.ok()) return UsageError(Command(), servers.status().message());
  CommitLogOptions options;
  options.servers = *servers;
  options.stream = absl::GetFlag(FLAGS_log_stream);
  options.api_timeout = absl::GetFlag(FLAGS_timeout);
  options.client_name = "hwctl replicas";
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options);
  if (!log.ok()) {
    std::fprintf(stderr, "hwctl replicas: cannot reach the NATS servers: %s\n",
                 std::string(log.status().message()).c_str());
    return kExitCannotConnect;
  }
  absl::StatusOr<std::unique_ptr<ReplicaRegistry>> registry = ReplicaRegistry::Open(log->get());
  if (!registry.ok()) {
    std::fprintf(stderr, "hwctl replicas: %s\n", std::string(registry.status().message()).c_str());
    return kExitServerError;
  }
  const std::string forget = absl::GetFlag(FLAGS_forget);
  if (!forget.empty()) {
    absl::Status forgotten = (*registry)->Forget(forget);
    if (absl::IsNotFound(forgotten)) {
      std::fprintf(stderr, "hwctl replicas: %s\n", std::string(forgotten.message()).c_str());
      return kExitNotFound;
    }
    if (!forgotten.ok()) {
      std::fprintf(stderr, "hwctl replicas: %s\n", std::string(forgotten.message()).c_str());
      return kExitServerError;
    }
    std::printf("forgot replica %s\n", forget.c_str());
    return kExitOk;
  }
  absl::StatusOr<std::vector<ReplicaRegistry::Entry>> entries = (*registry)->List();
  absl::StatusOr<uint64_t> erased_through = (*registry)->ErasedThrough();
  if (!entries.ok() || !erased_through.ok()) {
    const absl::Status error = !entries.ok() ? entries.status() : erased_through.status();
    std::fprintf(stderr, "hwctl replicas: %s\n", std::string(error.message()).c_str());
    return kExitServerError;
  }
  const absl::Time now = absl::Now();
  if (absl::GetFlag(FLAGS_json)) {
    std::string out = absl::StrCat("{\"erased_through\":", *erased_through, ",\"replicas\":[");
    for (size_t i = 0; i < entries->size(); ++i) {
      const ReplicaRegistry::Entry& entry = (*entries)[i];
      absl::StrAppend(&out, i > 0 ? "," : "", "{\"replica_id\":", JsonString(entry.replica_id),
                      ",\"applied_sequence\":", entry.applied_sequence,
                      ",\"reported_unix_ms\":", absl::ToUnixMillis(entry.reported_at), "}");
    }
    std::printf("%s]}\n", out.c_str());
    return kExitOk;
  }
  std::printf("erased through: %s\n",
              *erased_through == 0
                  ? "nothing (no erasure has deleted messages of this log)"
                  : absl::StrCat("log sequence ", *erased_through).c_str());
  std::printf("%zu replica(s):\n", entries->size());
  for (const ReplicaRegistry::Entry& entry : *entries) {
    std::printf("  %s  applied %llu  (reported %s ago)%s\n", entry.replica_id.c_str(),
                static_cast<unsigned long long>(entry.applied_sequence),
                absl::FormatDuration(absl::Trunc(now - entry.reported_at, absl::Seconds(1))).c_str(),
                entry.applied_sequence < *erased_through ? "  BEHIND the erasures" : "");
  }
  return kExitOk;
}

}  // namespace

const Subcommand& ReplicasCommand() { return Command(); }

}  // namespace hwctl
}  // namespace healthwire
