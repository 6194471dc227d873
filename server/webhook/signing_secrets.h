// Where the gateway's webhook signing secrets come from.
//
// - a comma-separated flag value (`--signing_secret=a,b`);
// - a file with one secret per line (for secrets kept out of argv/ps);
// - when nothing is configured: a generated secret, persisted under the data
//   folder so that it survives restarts and can be pasted into Terra's
//   dashboard once.
//
// Thread-compatible free functions; they touch only the files they are given.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_SIGNING_SECRETS_H_
#define HEALTHWIRE_SERVER_WEBHOOK_SIGNING_SECRETS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// The name of the generated secret's file inside the data folder.
inline constexpr char kGeneratedSecretFileName[] = "webhook-signing-secret";

// Splits a comma-separated list; whitespace around each secret is dropped and
// empty entries are skipped.
std::vector<std::string> ParseSecretList(absl::string_view comma_separated);

// Reads one secret per line. Blank lines and lines whose first non-blank
// character is '#' are ignored; whitespace around a secret is dropped. (A '#'
// later in a line is part of the secret: secrets are opaque.) NotFound /
// PermissionDenied / Internal name the path and the reason, never the content.
absl::StatusOr<std::vector<std::string>> LoadSecretsFromFile(const std::string& path);

struct GeneratedSecret {
  std::string secret;  // 64 lowercase hex digits (32 random bytes)
  std::string path;    // <data_dir>/webhook-signing-secret
  bool created = false;  // true on the start that generated it
};

// Returns the secret stored in <data_dir>/webhook-signing-secret, generating
// it first (32 bytes from OpenSSL's RAND_bytes, hex, file mode 0600, folder
// created when missing) when the file does not exist yet. Creation is atomic:
// the secret is written to a temporary file, synced, then linked into place,
// so a crash or a concurrent start never leaves a half-written secret.
absl::StatusOr<GeneratedSecret> LoadOrCreateGeneratedSecret(const std::string& data_dir);

// Where a binary's flags say the secrets are.
struct SigningSecretSources {
  std::string comma_separated;  // --signing_secret
  std::string file;             // --signing_secret_file
  std::string data_dir;         // where a generated secret is kept
};

struct ResolvedSigningSecrets {
  std::vector<std::string> secrets;
  // Set when no secret was configured and the generated one is used.
  std::optional<GeneratedSecret> generated;
};

// The union of the flag's and the file's secrets (duplicates dropped, order
// kept); when both are empty, LoadOrCreateGeneratedSecret(data_dir). A file
// that is named but yields no secret, or a non-empty list with no secret in
// it (",,,"), is an error (InvalidArgument), not a silent fall-back to a
// generated secret that Terra does not know.
absl::StatusOr<ResolvedSigningSecrets> ResolveSigningSecrets(const SigningSecretSources& sources);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_SIGNING_SECRETS_H_
