// libFuzzer target: SignatureVerifier::Verify with an arbitrary
// `terra-signature` header value and body.
//
// Input layout: everything before the first '\n' is the header value, the
// rest is the body (no '\n': all header, empty body).
//
// Properties checked (any violation aborts, which libFuzzer reports as a crash):
// - Verify never crashes and every failure is Unauthenticated with one of the
//   documented messages, none of which contains the secret;
// - with a secret drawn at random when the process starts, an arbitrary header
//   never verifies: the fuzzer cannot know the secret, so OK would mean the
//   check can be bypassed;
// - the header Sign() makes for that secret and body does verify, and still
//   does with the fuzzed header's parts appended to it (other schemes and
//   extra v1 values are ignored, as documented) unless those parts are
//   malformed; and it is refused as expired under a 300 s window when its t is
//   far from now.
//
// Build and run: tools/fuzz/run_fuzzers.sh (see tools/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/webhook/signature_verifier.h"

namespace {

using healthwire::SignatureVerifier;

constexpr int64_t kNow = 1782900000;  // 2026-07-01

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "signature_header_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

// 32 random bytes as hex, drawn once per process.
std::string RandomSecret() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32] = {};
  urandom.read(reinterpret_cast<char*>(bytes), sizeof(bytes));
  if (!urandom) Fail("cannot read /dev/urandom", "");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) {
    secret.push_back(kHex[b >> 4]);
    secret.push_back(kHex[b & 0xf]);
  }
  return secret;
}

const std::string& Secret() {
  static const std::string* secret = new std::string(RandomSecret());
  return *secret;
}

SignatureVerifier MakeVerifier(absl::Duration tolerance) {
  SignatureVerifier::Options options;
  options.timestamp_tolerance = tolerance;
  absl::StatusOr<SignatureVerifier> verifier =
      SignatureVerifier::Create({Secret(), "second-" + Secret()}, options);
  if (!verifier.ok()) Fail("Create failed", verifier.status().ToString());
  return *std::move(verifier);
}

const SignatureVerifier& Lenient() {
  static const SignatureVerifier* verifier =
      new SignatureVerifier(MakeVerifier(absl::InfiniteDuration()));
  return *verifier;
}

const SignatureVerifier& Strict() {
  static const SignatureVerifier* verifier = new SignatureVerifier(MakeVerifier(absl::Seconds(300)));
  return *verifier;
}

void CheckFailure(const absl::Status& status, absl::string_view header) {
  if (status.code() != absl::StatusCode::kUnauthenticated) {
    Fail("failure is not Unauthenticated", status.ToString());
  }
  const absl::string_view message = status.message();
  const bool documented = message == "missing terra-signature header" ||
                          absl::StartsWith(message, "malformed terra-signature header: ") ||
                          absl::StartsWith(message, "signature timestamp outside the allowed window (") ||
                          message == "signature does not match any configured secret";
  if (!documented) Fail("undocumented failure message", std::string(message));
  if (absl::StrContains(message, Secret())) Fail("message contains the secret", "");
  (void)header;
}

// Whether `header` is made only of parts a well-formed header may carry (so
// that appending it to a valid header must keep it valid): every non-empty
// part has '=', no t, and v1 values are 64 hex digits.
bool ExtraPartsAreHarmless(absl::string_view header) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    if (comma == absl::string_view::npos) comma = header.size();
    absl::string_view part = header.substr(start, comma - start);
    // Same trimming as the verifier: ASCII whitespace.
    while (!part.empty() && absl::ascii_isspace(static_cast<unsigned char>(part.front()))) {
      part.remove_prefix(1);
    }
    while (!part.empty() && absl::ascii_isspace(static_cast<unsigned char>(part.back()))) {
      part.remove_suffix(1);
    }
    if (!part.empty()) {
      const size_t eq = part.find('=');
      if (eq == absl::string_view::npos) return false;
      absl::string_view key = part.substr(0, eq);
      absl::string_view value = part.substr(eq + 1);
      while (!key.empty() && absl::ascii_isspace(static_cast<unsigned char>(key.back()))) {
        key.remove_suffix(1);
      }
      while (!value.empty() && absl::ascii_isspace(static_cast<unsigned char>(value.front()))) {
        value.remove_prefix(1);
      }
      if (key == "t") return false;
      if (key == "v1") {
        if (value.size() != 64) return false;
        for (char c : value) {
          if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
        }
      }
    }
    start = comma + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view header = input.substr(0, newline);
  const absl::string_view body =
      newline == absl::string_view::npos ? absl::string_view() : input.substr(newline + 1);
  const absl::Time now = absl::FromUnixSeconds(kNow);

  // 1. Arbitrary header: never OK.
  absl::Status status = Lenient().Verify(header, body, now);
  if (status.ok()) Fail("an arbitrary header verified against a random secret", std::string(header));
  CheckFailure(status, header);
  CheckFailure(Strict().Verify(header, body, now), header);

  // 2. Sign() output verifies; so does it with harmless extra parts.
  const int64_t t = kNow - static_cast<int64_t>(size % 300);
  const std::string signed_header = SignatureVerifier::Sign(Secret(), t, body);
  status = Lenient().Verify(signed_header, body, now);
  if (!status.ok()) Fail("Sign() output did not verify", status.ToString());
  status = Strict().Verify(signed_header, body, now);
  if (!status.ok()) Fail("Sign() output within the window did not verify", status.ToString());

  if (header.find('\0') == absl::string_view::npos) {
    const std::string combined = absl::StrCat(signed_header, ",", header);
    status = Lenient().Verify(combined, body, now);
    if (ExtraPartsAreHarmless(header)) {
      if (!status.ok()) {
        Fail("a valid header with harmless extra parts did not verify", status.ToString());
      }
    } else if (status.ok()) {
      Fail("a header with malformed extra parts verified", combined);
    }
  }

  // 3. A genuine signature from far outside the window is refused as expired.
  const std::string old_header = SignatureVerifier::Sign(Secret(), kNow - 86400, body);
  status = Strict().Verify(old_header, body, now);
  if (status.ok() || !absl::StartsWith(status.message(), "signature timestamp outside")) {
    Fail("an expired genuine signature was not refused as expired", status.ToString());
  }

  // 4. A body changed by one byte no longer verifies.
  if (!body.empty()) {
    std::string tampered(body);
    tampered[size % tampered.size()] ^= 0x01;
    if (Lenient().Verify(signed_header, tampered, now).ok()) {
      Fail("a tampered body verified", "");
    }
  }
  return 0;
}
