// SignatureVerifier: checks the `terra-signature` header of a Terra webhook.
//
// Header format: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`. Each v1 is
// hex(HMAC-SHA256(key = signing secret, message = t + "." + raw body)). The
// delivery is authentic when any configured secret produces any of the v1
// values (one URL often serves several Terra environments, each with its own
// secret, and a secret rotation briefly has two). Other schemes (v0=, ...) are
// ignored; whitespace around the parts is tolerated.
//
// Every failure is an Unauthenticated Status whose message names the reason:
//   "missing terra-signature header"
//   "malformed terra-signature header: <what>"
//   "signature timestamp outside the allowed window (<details>)"
//   "signature does not match any configured secret"
// Secrets never appear in messages.
//
// Thread-safe: a constructed verifier is immutable; Verify may be called from
// any number of threads at once.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_SIGNATURE_VERIFIER_H_
#define HEALTHWIRE_SERVER_WEBHOOK_SIGNATURE_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {

class SignatureVerifier {
 public:
  struct Options {
    // How far the header's `t` may be from `now`, in either direction.
    //
    // Why 36 hours and not the 300 s of Terra's SDKs: Terra retries a failed
    // delivery for a little over 24 hours, and it is not confirmed that `t` is
    // re-stamped on each retry. A short window could reject genuine retries,
    // and a rejected retry is data Terra finally drops. The window only guards
    // against replay, and a replayed genuine body cannot change stored data:
    // deliveries are idempotent (identical re-deliveries are no-ops, and the
    // ordering guard keeps an older copy from replacing a newer one).
    absl::Duration timestamp_tolerance = absl::Hours(36);
  };

  // InvalidArgument when `secrets` is empty or holds an empty secret (an
  // empty HMAC key would let anyone sign).
  static absl::StatusOr<SignatureVerifier> Create(std::vector<std::string> secrets,
                                                  Options options);
  static absl::StatusOr<SignatureVerifier> Create(std::vector<std::string> secrets) {
    return Create(std::move(secrets), Options());
  }

  // OK when the header is well formed, `t` is within the tolerance of `now`,
  // and some secret signs `raw_body` into one of the v1 values. An empty (or
  // all-whitespace) `header_value` counts as a missing header.
  absl::Status Verify(absl::string_view header_value, absl::string_view raw_body,
                      absl::Time now) const;

  // The full header value Terra would send for `body` signed with `secret` at
  // unix time `t`: "t=<t>,v1=<lowercase hex>". For tests and tools.
  static std::string Sign(absl::string_view secret, int64_t t, absl::string_view body);

  size_t secret_count() const { return secrets_.size(); }
  const Options& options() const { return options_; }

 private:
  SignatureVerifier(std::vector<std::string> secrets, Options options)
      : secrets_(std::move(secrets)), options_(options) {}

  std::vector<std::string> secrets_;
  Options options_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_SIGNATURE_VERIFIER_H_
