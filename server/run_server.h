// The body every healthwire binary's main shares: parse flags into Options,
// BuildAndStart, wait for SIGTERM/SIGINT, shut down gracefully.
#ifndef HEALTHWIRE_SERVER_RUN_SERVER_H_
#define HEALTHWIRE_SERVER_RUN_SERVER_H_

#include <functional>

#include "server/healthwire_server.h"

namespace healthwire {

// `apply_flags` copies the binary's flag groups into the options. Returns the
// process exit code: 0 after a clean shutdown, 1 when the server could not
// start (the reason is printed on one line).
int RunServer(int argc, char** argv, const char* usage,
              const std::function<void(HealthwireServer::Options*)>& apply_flags);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_RUN_SERVER_H_
