// hwctl erase: erases a person's data from the store (EraseUser), after a
// confirmation unless --yes is given.
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(bool, yes, false, "erase without asking for confirmation (scripts)");

namespace healthwire {
namespace hwctl {
namespace {

int RunErase(const ParsedArguments& arguments) {
  const Subcommand& command = EraseCommand();
  if (!arguments.positional.empty()) return UsageError(command, "takes no arguments");
  absl::StatusOr<v1::Subject> subject = SubjectFromFlags();
  if (!subject.ok()) return UsageError(command, subject.status().message());

  if (!absl::GetFlag(FLAGS_yes)) {
    std::fprintf(stderr,
                 "Erase every record, connection record and change of %s from the store? This "
                 "cannot be undone. Type yes: ",
                 DescribeSubject(*subject).c_str());
    std::string answer;
    std::getline(std::cin, answer);
    if (absl::StripAsciiWhitespace(answer) != "yes") {
      std::fprintf(stderr, "hwctl erase: not confirmed; nothing erased (--yes skips the question)\n");
      return kExitUsage;
    }
  }

  v1::EraseUserRequest request;
  *request.mutable_subject() = *subject;
  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  v1::EraseUserResponse response;
  const grpc::Status status = store.stub->EraseUser(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, store.address);
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> line = ToJsonLine(response);
    if (!line.ok()) {
      std::fprintf(stderr, "hwctl erase: %s\n", std::string(line.status().message()).c_str());
      return kExitServerError;
    }
    std::printf("%s\n", line->c_str());
    return kExitOk;
  }
  if (response.tombstone_revision() == 0) {
    std::printf("nothing to erase for %s (store revision %llu)\n",
                DescribeSubject(*subject).c_str(),
                static_cast<unsigned long long>(response.store_revision()));
  } else {
    std::printf("erased %s: %llu records, %llu changes, %llu connection records; tombstone at "
                "revision %llu\n",
                DescribeSubject(*subject).c_str(),
                static_cast<unsigned long long>(response.records_erased()),
                static_cast<unsigned long long>(response.changes_erased()),
                static_cast<unsigned long long>(response.connections_erased()),
                static_cast<unsigned long long>(response.tombstone_revision()));
    if (response.backfills_erased() != 0 || response.fetches_erased() != 0) {
      std::printf("also erased: %llu backfills, %llu s3_payload fetches\n",
                  static_cast<unsigned long long>(response.backfills_erased()),
                  static_cast<unsigned long long>(response.fetches_erased()));
    }
  }
  if (!response.compacted() && response.compaction_error().empty()) {
    std::printf("every replica compacts the erased key ranges in the background\n");
  } else if (!response.compacted()) {
    std::printf("compaction did not finish (%s): the bytes may stay in SST files until RocksDB "
                "compacts them; run erase again to retry\n",
                response.compaction_error().c_str());
  }
  return kExitOk;
}

}  // namespace

const Subcommand& EraseCommand() {
  static const Subcommand* const command = new Subcommand{
      "erase",
      "(--user ID | --reference REF) [--yes] [--json]",
      "Erase a person's data from the store (GDPR art. 17); subscribers get a tombstone.",
      "Removes every record, index entry, connection record and change-log entry holding\n"
      "the person's data in one atomic commit, streams a tombstone (type erasure) at a new\n"
      "revision, and compacts the affected key ranges. --reference erases every connection\n"
      "of that reference_id. Running it again erases nothing more. Asks for confirmation\n"
      "unless --yes is given. Checkpoints (hwctl backup) taken before keep the data.",
      {"user", "reference", "yes", "json", "store", "tls_ca", "tls_cert", "tls_key", "token_file",
       "timeout"},
      &RunErase,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
