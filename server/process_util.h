// Small process-level helpers shared by healthwire's binaries: where relative
// paths point, and waiting for SIGTERM/SIGINT.
//
// BlockTerminationSignals must be called from main before any thread starts;
// the rest is thread-safe.
#ifndef HEALTHWIRE_SERVER_PROCESS_UTIL_H_
#define HEALTHWIRE_SERVER_PROCESS_UTIL_H_

#include <string>

namespace healthwire {

// Resolves `path` against the folder the user ran the command from.
// `bazel run` changes the working directory to the runfiles tree and says in
// BUILD_WORKING_DIRECTORY where the user was; without it, the current folder.
std::string ResolveUserPath(const std::string& path);

// Blocks SIGTERM and SIGINT in this thread and every thread started after,
// so that WaitForTerminationSignal is the only place they are handled.
void BlockTerminationSignals();

// Waits for SIGTERM or SIGINT; returns the signal number.
int WaitForTerminationSignal();

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_PROCESS_UTIL_H_
