// The metadata a healthwire front end (the HTTP/JSON read API) puts on the
// gRPC calls it makes for its own clients.
//
// `x-healthwire-on-behalf-of: <the HTTP client's address>` says the call is
// made for someone else, so:
//   - the Authorizer authenticates it by its bearer token only (the token
//     the HTTP client sent, forwarded as `authorization`), never by the
//     transport's client certificate: that certificate is the front end's
//     own (the split gateway's), and falling back to it would let any HTTP
//     client read with the gateway's identity;
//   - the audit line records the address as "on_behalf_of" beside the
//     call's own peer.
// Any gRPC client may send it, but it can only take rights away (no
// certificate fallback); the address it names is a claim, logged as one.
//
// Constants only: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_DELEGATED_CALL_H_
#define HEALTHWIRE_SERVER_SECURITY_DELEGATED_CALL_H_

#include <cstddef>

namespace healthwire {

inline constexpr char kOnBehalfOfMetadataKey[] = "x-healthwire-on-behalf-of";
// Longer claims are cut to this many bytes in the audit line.
inline constexpr size_t kMaxOnBehalfOfBytes = 128;

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_DELEGATED_CALL_H_
