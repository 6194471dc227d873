// healthwire_gateway: the webhook gateway alone, committing every webhook
// through a healthwire_store's Ingest RPC.
#include <string>

#include "absl/flags/flag.h"
#include "server/log_flags.h"
#include "server/run_server.h"
#include "server/server_flags.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50051", "host:port of the healthwire_store to commit to.");

int main(int argc, char** argv) {
  return healthwire::RunServer(
      argc, argv,
      "The Terra webhook gateway; commits through a healthwire_store.\n"
      "Usage: healthwire_gateway --store=HOST:PORT [--http_port=8080] "
      "[--signing_secret_file=FILE] ...",
      [](healthwire::HealthwireServer::Options* options) {
        healthwire::ApplyCommonFlags(options);
        healthwire::ApplyReadApiFlags(options);
        healthwire::ApplyLogFlags(options);
        healthwire::ApplyGatewayFlags(options);
        options->run_store = false;
        options->store_address = absl::GetFlag(FLAGS_store);
      });
}
