#include "server/run_server.h"

#include <csignal>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "server/flags/logging_flags.h"
#include "server/process_util.h"
#include "tools/build_defs/version.h"

namespace healthwire {

int RunServer(int argc, char** argv, const char* usage,
              const std::function<void(HealthwireServer::Options*)>& apply_flags) {
  // Debian's Abseil is built without NDEBUG, so by default every absl::Mutex
  // (ours and gRPC's) records lock order in a global deadlock graph on each
  // acquisition: GraphCycles showed in the server's profile under stream
  // fan-out. Lock-order checking belongs in tests (TSan), not the shipped
  // binaries; set before any thread starts.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(usage);
  // --help lists the flags of healthwire's flag groups (they live in
  // server/*_flags.cc and the binary's main, not only in main as Abseil
  // assumes by default).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "server/") &&
           (absl::EndsWith(path, "_flags.cc") || absl::EndsWith(path, "_main.cc"));
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  usage_config.version_string = [] { return VersionLine("healthwire"); };
  absl::SetFlagsUsageConfig(usage_config);
  absl::ParseCommandLine(argc, argv);
  // Before any thread starts (the log writer's included), so only
  // WaitForTerminationSignal sees them.
  BlockTerminationSignals();
  if (absl::Status logging_started = ApplyLoggingFlags(); !logging_started.ok()) {
    logging::Error(absl::StrCat("healthwire: cannot start: ", logging_started.message()));
    return 1;
  }

  // Before anything opens files: RocksDB, gRPC and the HTTP connection cap
  // (sized from this limit) share it.
  RaiseFileDescriptorLimit();

  HealthwireServer::Options options;
  apply_flags(&options);
  absl::StatusOr<std::unique_ptr<HealthwireServer>> server =
      HealthwireServer::BuildAndStart(options);
  if (!server.ok()) {
    logging::Error(absl::StrCat("healthwire: cannot start: ", server.status().message()));
    logging::Shutdown();
    return 1;
  }
  const int signal_number = WaitForTerminationSignal();
  logging::Info("healthwire: shutting down",
                {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*server)->Shutdown();
  logging::Info("healthwire: stopped cleanly");
  logging::Shutdown();
  return 0;
}

}  // namespace healthwire
