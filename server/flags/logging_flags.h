// --log_format, --log_level and --log_queue_lines of every healthwire binary.
// ApplyLoggingFlags (after absl::ParseCommandLine, before anything logs)
// starts common/logging with them; a bad value is returned as the one-line
// error the binary prints before exiting 1.
#ifndef HEALTHWIRE_SERVER_FLAGS_LOGGING_FLAGS_H_
#define HEALTHWIRE_SERVER_FLAGS_LOGGING_FLAGS_H_

#include "absl/status/status.h"

namespace healthwire {

absl::Status ApplyLoggingFlags();

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FLAGS_LOGGING_FLAGS_H_
