// Flags of cluster mode (the commit log), in healthwire_store and
// healthwire_gateway: --log turns cluster mode on. Call ApplyLogFlags after
// absl::ParseCommandLine; a malformed --log is one line on stderr and exit 2.
#ifndef HEALTHWIRE_SERVER_FLAGS_LOG_FLAGS_H_
#define HEALTHWIRE_SERVER_FLAGS_LOG_FLAGS_H_

#include "server/healthwire_server.h"

namespace healthwire {

void ApplyLogFlags(HealthwireServer::Options* options);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FLAGS_LOG_FLAGS_H_
