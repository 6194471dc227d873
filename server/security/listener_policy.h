// The loopback rule for healthwire's internal listeners (gRPC, and any other
// API that serves stored data): with no TLS and no client authentication they
// may bind only to loopback, where every local process is trusted as before;
// bound anywhere else they need TLS plus a way to tell clients apart (client
// certificates or bearer tokens). The webhook port is not one of these: it
// faces the internet by design and every request is signed.
//
// Pure functions: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_LISTENER_POLICY_H_
#define HEALTHWIRE_SERVER_SECURITY_LISTENER_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// Whether `address` (a bind address without port: "127.0.0.1", "::1",
// "[::1]", "localhost", "unix:/path") only accepts connections from this
// machine. 0.0.0.0, :: and any other name or address are not loopback.
bool IsLoopbackAddress(absl::string_view address);

struct ListenerSecurity {
  absl::string_view address_flag;  // e.g. "--grpc_address"
  absl::string_view address;
  bool tls = false;
  // Client certificates required, or a tokens file.
  bool authenticates_clients = false;
  absl::string_view how_to_fix;  // the flags to set, for the error line
};

// OK on loopback, or with TLS and client authentication; otherwise
// FailedPrecondition with one line saying what to configure.
absl::Status CheckListenerSecurity(const ListenerSecurity& listener);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_LISTENER_POLICY_H_
