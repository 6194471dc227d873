// Flags every healthwire binary takes.
#include <string>

#include "absl/flags/flag.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"

ABSL_FLAG(std::string, data_dir, "./healthwire-data",
          "Data folder: RocksDB (store) and the generated webhook signing secret (gateway). "
          "Relative paths resolve against the folder the command was run from.");
ABSL_FLAG(std::string, ready_file, "",
          "When set, write grpc_port=/http_port=/data_dir= lines to this file once listening "
          "(for scripts and tests that use port 0).");

namespace healthwire {

void ApplyCommonFlags(HealthwireServer::Options* options) {
  options->data_dir = ResolveUserPath(absl::GetFlag(FLAGS_data_dir));
  if (!absl::GetFlag(FLAGS_ready_file).empty()) {
    options->ready_file = ResolveUserPath(absl::GetFlag(FLAGS_ready_file));
  }
}

}  // namespace healthwire
