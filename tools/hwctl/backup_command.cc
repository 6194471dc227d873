// hwctl backup: asks the store for a RocksDB checkpoint (CreateCheckpoint).
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(std::string, name, "",
          "checkpoint folder name (letters, digits, '-', '_', '.'); default revision-<N>-<time>");

namespace healthwire {
namespace hwctl {
namespace {

int RunBackup(const ParsedArguments& arguments) {
  const Subcommand& command = BackupCommand();
  if (!arguments.positional.empty()) return UsageError(command, "takes no arguments");
  v1::CreateCheckpointRequest request;
  request.set_name(absl::GetFlag(FLAGS_name));

  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  v1::CreateCheckpointResponse response;
  const grpc::Status status = store.stub->CreateCheckpoint(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, store.address);
  std::printf("checkpoint %s (everything up to revision %llu)\n", response.path().c_str(),
              static_cast<unsigned long long>(response.store_revision()));
  return kExitOk;
}

}  // namespace

const Subcommand& BackupCommand() {
  static const Subcommand* const command = new Subcommand{
      "backup",
      "[--name NAME]",
      "Write a consistent checkpoint of the store (a backup) on the store's machine.",
      "The checkpoint is a RocksDB checkpoint in the store's --checkpoint_dir (default\n"
      "<data_dir>.checkpoints): hard links where possible, so it is quick and small. To\n"
      "restore, copy it somewhere and start healthwire with --data_dir pointing at it.",
      {"name", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout"},
      &RunBackup,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
