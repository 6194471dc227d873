#include "server/webhook/signature_verifier.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace healthwire {
namespace {

constexpr size_t kDigestBytes = 32;  // SHA-256
using Digest = std::array<unsigned char, kDigestBytes>;

// HMAC-SHA256(secret, t + "." + body), streamed so a large body is not copied.
// nullopt only when OpenSSL itself fails (out of memory, broken provider).
std::optional<Digest> ComputeSignature(absl::string_view secret, absl::string_view t,
                                       absl::string_view body) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return std::nullopt;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (ctx == nullptr) return std::nullopt;

  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  Digest digest;
  size_t digest_len = 0;
  const bool ok =
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(t.data()), t.size()) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>("."), 1) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(body.data()), body.size()) ==
          1 &&
      EVP_MAC_final(ctx, digest.data(), &digest_len, digest.size()) == 1 &&
      digest_len == kDigestBytes;
  EVP_MAC_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return digest;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ToLowerHex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest.size() * 2);
  for (unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xf]);
  }
  return hex;
}

absl::Status Malformed(absl::string_view what) {
  return absl::UnauthenticatedError(absl::StrCat("malformed terra-signature header: ", what));
}

struct ParsedHeader {
  int64_t timestamp = 0;
  // The `t` value's digits exactly as sent: the signed message uses them.
  absl::string_view timestamp_text;
  std::vector<Digest> signatures;
};

absl::StatusOr<ParsedHeader> ParseHeader(absl::string_view header_value) {
  ParsedHeader parsed;
  bool have_timestamp = false;
  for (absl::string_view part : absl::StrSplit(header_value, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;  // "t=1,,v1=..." or a trailing comma
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      return Malformed("a part without '=' (expected t=<unix seconds>,v1=<hex>)");
    }
    const absl::string_view key = absl::StripAsciiWhitespace(part.substr(0, eq));
    const absl::string_view value = absl::StripAsciiWhitespace(part.substr(eq + 1));
    if (key == "t") {
      if (have_timestamp) return Malformed("more than one t");
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != absl::string_view::npos ||
          !absl::SimpleAtoi(value, &parsed.timestamp)) {
        return Malformed("t is not a unix time in seconds");
      }
      parsed.timestamp_text = value;
      have_timestamp = true;
    } else if (key == "v1") {
      if (value.size() != 2 * kDigestBytes) {
        return Malformed(absl::StrFormat("v1 must be %d hex digits, got %d characters",
                                         2 * kDigestBytes, value.size()));
      }
      Digest digest;
      for (size_t i = 0; i < kDigestBytes; ++i) {
        const int high = HexValue(value[2 * i]);
        const int low = HexValue(value[2 * i + 1]);
        if (high < 0 || low < 0) return Malformed("v1 is not hex");
        digest[i] = static_cast<unsigned char>(high << 4 | low);
      }
      parsed.signatures.push_back(digest);
    }
    // Other schemes (v0=, future versions) are ignored on purpose.
  }
  if (!have_timestamp) return Malformed("no t=<unix seconds>");
  if (parsed.signatures.empty()) return Malformed("no v1 signature");
  return parsed;
}

}  // namespace

absl::StatusOr<SignatureVerifier> SignatureVerifier::Create(std::vector<std::string> secrets,
                                                            Options options) {
  if (secrets.empty()) {
    return absl::InvalidArgumentError("no webhook signing secret configured");
  }
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook signing secret #", i + 1, " is empty"));
    }
  }
  if (options.timestamp_tolerance < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("signature timestamp tolerance must not be negative");
  }
  return SignatureVerifier(std::move(secrets), options);
}

absl::Status SignatureVerifier::Verify(absl::string_view header_value,
                                       absl::string_view raw_body, absl::Time now) const {
  if (absl::StripAsciiWhitespace(header_value).empty()) {
    return absl::UnauthenticatedError("missing terra-signature header");
  }
  absl::StatusOr<ParsedHeader> parsed = ParseHeader(header_value);
  if (!parsed.ok()) return parsed.status();

  // Signature first, timestamp second: "expired" is then only ever said about
  // a delivery that was genuinely signed, which makes the reason trustworthy
  // when diagnosing a clock or retry problem.
  bool matched = false;
  for (const std::string& secret : secrets_) {
    std::optional<Digest> expected = ComputeSignature(secret, parsed->timestamp_text, raw_body);
    if (!expected.has_value()) {
      return absl::InternalError("HMAC-SHA256 computation failed in OpenSSL");
    }
    for (const Digest& candidate : parsed->signatures) {
      // Constant time, and no early exit across candidates either: timing
      // tells nothing about which secret or which byte came close.
      matched |= CRYPTO_memcmp(expected->data(), candidate.data(), kDigestBytes) == 0;
    }
  }
  if (!matched) {
    return absl::UnauthenticatedError("signature does not match any configured secret");
  }

  const absl::Time signed_at = absl::FromUnixSeconds(parsed->timestamp);
  const absl::Duration skew = absl::AbsDuration(now - signed_at);
  if (skew > options_.timestamp_tolerance) {
    return absl::UnauthenticatedError(absl::StrCat(
        "signature timestamp outside the allowed window (t=", parsed->timestamp, " is ",
        absl::FormatDuration(skew), now > signed_at ? " in the past" : " in the future",
        ", tolerance ", absl::FormatDuration(options_.timestamp_tolerance), ")"));
  }
  return absl::OkStatus();
}

std::string SignatureVerifier::Sign(absl::string_view secret, int64_t t, absl::string_view body) {
  const std::string timestamp = absl::StrCat(t);
  std::optional<Digest> digest = ComputeSignature(secret, timestamp, body);
  // Only an OpenSSL failure gets here; a header that never verifies is the
  // honest answer for a helper that cannot return a Status.
  if (!digest.has_value()) return absl::StrCat("t=", timestamp, ",v1=");
  return absl::StrCat("t=", timestamp, ",v1=", ToLowerHex(*digest));
}

}  // namespace healthwire
