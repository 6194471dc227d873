// Command-line flags of healthwire's binaries, in three groups so that each
// binary shows (and accepts) only the flags that apply to it:
// common (data folder, ready file), store (RocksDB, gRPC, retention) and
// gateway (HTTP, signatures, limits). Each Apply* copies its group into
// HealthwireServer::Options, resolving relative paths against the folder the
// user ran the command from.
//
// Call after absl::ParseCommandLine, from main.
#ifndef HEALTHWIRE_SERVER_FLAGS_SERVER_FLAGS_H_
#define HEALTHWIRE_SERVER_FLAGS_SERVER_FLAGS_H_

#include "server/healthwire_server.h"

namespace healthwire {

void ApplyCommonFlags(HealthwireServer::Options* options);
void ApplyStoreFlags(HealthwireServer::Options* options);
void ApplyGatewayFlags(HealthwireServer::Options* options);
// The s3_payload fetcher's (binaries that run a store); after the gateway's.
void ApplyS3FetchFlags(HealthwireServer::Options* options);
void ApplyReadApiFlags(HealthwireServer::Options* options);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FLAGS_SERVER_FLAGS_H_
