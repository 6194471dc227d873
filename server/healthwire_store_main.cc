// healthwire_store: the store alone (RocksDB + gRPC EventStore service), for
// split deployments where healthwire_gateway processes commit through Ingest.
#include "server/flags/log_flags.h"
#include "server/flags/server_flags.h"
#include "server/run_server.h"

int main(int argc, char** argv) {
  return healthwire::RunServer(
      argc, argv,
      "The EventStore (RocksDB + gRPC) without the HTTP gateway.\n"
      "Usage: healthwire_store [--data_dir=DIR] [--grpc_port=50051] ...",
      [](healthwire::HealthwireServer::Options* options) {
        healthwire::ApplyCommonFlags(options);
        healthwire::ApplyReadApiFlags(options);
        healthwire::ApplyLogFlags(options);
        healthwire::ApplyStoreFlags(options);
        healthwire::ApplyS3FetchFlags(options);
        options->run_gateway = false;
      });
}
