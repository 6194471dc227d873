// Small process-level helpers shared by healthwire's binaries: where relative
// paths point, waiting for SIGTERM/SIGINT, file descriptor limits, and a
// process's peak memory (also read by the tests and benchmarks that measure
// the server binaries).
//
// BlockTerminationSignals must be called from main before any thread starts;
// the rest is thread-safe.
#ifndef HEALTHWIRE_SERVER_PROCESS_UTIL_H_
#define HEALTHWIRE_SERVER_PROCESS_UTIL_H_

#include <sys/types.h>

#include <cstdint>
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

// Raises the soft RLIMIT_NOFILE to the hard limit (a process that holds one
// fd per connection should not stop at the 1,024 default while the system
// allows more). Returns the soft limit now in force.
uint64_t RaiseFileDescriptorLimit();

// The soft RLIMIT_NOFILE now in force.
uint64_t FileDescriptorLimit();

// The peak resident set (VmHWM in /proc/<pid>/status) of process `pid`, in
// bytes; 0 when it cannot be read (no such process).
uint64_t PeakRssBytes(pid_t pid);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_PROCESS_UTIL_H_
