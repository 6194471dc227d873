// healthwire_gateway: the webhook gateway alone, committing every webhook
// through a healthwire_store's Ingest RPC.
#include <string>

#include "absl/flags/flag.h"
#include "server/flags/log_flags.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"
#include "server/run_server.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50051", "host:port of the healthwire_store to commit to.");
ABSL_FLAG(std::string, store_tls_ca, "",
          "PEM CA of the store's --grpc_tls_cert: talk TLS to the store.");
ABSL_FLAG(std::string, store_tls_cert, "",
          "PEM client certificate for a store with --grpc_client_ca (with --store_tls_key).");
ABSL_FLAG(std::string, store_tls_key, "", "PEM private key of --store_tls_cert.");
ABSL_FLAG(std::string, store_token_file, "",
          "File whose first line is this gateway's bearer token (a token with the ingest role "
          "in the store's --grpc_tokens_file).");

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
        auto path_flag = [](const std::string& value) {
          return value.empty() ? value : healthwire::ResolveUserPath(value);
        };
        options->store_security.ca_file = path_flag(absl::GetFlag(FLAGS_store_tls_ca));
        options->store_security.cert_file = path_flag(absl::GetFlag(FLAGS_store_tls_cert));
        options->store_security.key_file = path_flag(absl::GetFlag(FLAGS_store_tls_key));
        options->store_security.token_file = path_flag(absl::GetFlag(FLAGS_store_token_file));
        options->store_security.flag_prefix = "--store_tls_";
        options->store_security.token_flag = "--store_token_file";
      });
}
