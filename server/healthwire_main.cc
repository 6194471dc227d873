// healthwire: the embedded default. One process runs the webhook gateway and
// the store, with RocksDB in a local folder.
//
//   bazel run //server:healthwire -- --data_dir=./healthwire-data
#include "server/flags/server_flags.h"
#include "server/run_server.h"

int main(int argc, char** argv) {
  return healthwire::RunServer(
      argc, argv,
      "Terra webhooks in (HTTP), typed events in RocksDB, served over gRPC.\n"
      "Embedded default: gateway and store in one process.\n"
      "Usage: healthwire [--data_dir=DIR] [--http_port=8080] [--grpc_port=50051] "
      "[--signing_secret_file=FILE] ...",
      [](healthwire::HealthwireServer::Options* options) {
        healthwire::ApplyCommonFlags(options);
        healthwire::ApplyReadApiFlags(options);
        healthwire::ApplyStoreFlags(options);
        healthwire::ApplyGatewayFlags(options);
        healthwire::ApplyS3FetchFlags(options);
      });
}
