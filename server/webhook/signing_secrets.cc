#include "server/webhook/signing_secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace healthwire {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view what, absl::string_view path) {
  const std::string message = absl::StrCat(what, " ", path, ": ", strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

// mkdir -p with mode 0700 for the folders it creates.
absl::Status MakeDirectories(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty data folder path");
  std::string prefix;
  for (absl::string_view component : absl::StrSplit(path, '/')) {
    prefix.append(component.data(), component.size());
    if (!prefix.empty() && !component.empty() && component != ".") {
      if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, "cannot create folder", prefix);
      }
    }
    prefix.push_back('/');
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a folder"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  std::string content;
  std::array<char, 4096> chunk;
  while (true) {
    const ssize_t n = read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return ErrnoStatus(error, "cannot read", path);
    }
    if (n == 0) break;
    content.append(chunk.data(), static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

absl::Status WriteAllAndSync(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) return ErrnoStatus(errno, "cannot sync", path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RandomHexSecret() {
  std::array<unsigned char, 32> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed to generate a signing secret");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : bytes) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xf]);
  }
  return hex;
}

absl::StatusOr<std::string> ReadGeneratedSecret(const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(path);
  if (!content.ok()) return content.status();
  std::string secret(absl::StripAsciiWhitespace(*content));
  if (secret.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing secret file ", path, " is empty; delete it to generate a new one"));
  }
  return secret;
}

}  // namespace

std::vector<std::string> ParseSecretList(absl::string_view comma_separated) {
  std::vector<std::string> secrets;
  for (absl::string_view part : absl::StrSplit(comma_separated, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) secrets.emplace_back(part);
  }
  return secrets;
}

absl::StatusOr<std::vector<std::string>> LoadSecretsFromFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(path);
  if (!content.ok()) return content.status();
  std::vector<std::string> secrets;
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    line = absl::StripAsciiWhitespace(line);  // also drops a Windows '\r'
    if (line.empty() || line.front() == '#') continue;
    secrets.emplace_back(line);
  }
  return secrets;
}

absl::StatusOr<GeneratedSecret> LoadOrCreateGeneratedSecret(const std::string& data_dir) {
  if (absl::Status made = MakeDirectories(data_dir); !made.ok()) return made;
  GeneratedSecret result;
  result.path = absl::StrCat(data_dir, "/", kGeneratedSecretFileName);

  if (access(result.path.c_str(), F_OK) == 0) {
    absl::StatusOr<std::string> secret = ReadGeneratedSecret(result.path);
    if (!secret.ok()) return secret.status();
    result.secret = *std::move(secret);
    return result;
  }

  absl::StatusOr<std::string> secret = RandomHexSecret();
  if (!secret.ok()) return secret.status();

  // Write a private temporary file, sync it, then link() it into place: link
  // fails with EEXIST instead of overwriting, so when two processes start at
  // once exactly one secret wins and both use it.
  std::string temp_path = absl::StrCat(result.path, ".tmp.XXXXXX");
  const int fd = mkstemp(temp_path.data());  // creates with mode 0600
  if (fd < 0) return ErrnoStatus(errno, "cannot create a temporary file in", data_dir);
  absl::Status written = fchmod(fd, 0600) == 0
                             ? WriteAllAndSync(fd, absl::StrCat(*secret, "\n"), temp_path)
                             : ErrnoStatus(errno, "cannot chmod", temp_path);
  close(fd);
  if (!written.ok()) {
    unlink(temp_path.c_str());
    return written;
  }
  const int link_result = link(temp_path.c_str(), result.path.c_str());
  const int link_error = errno;
  unlink(temp_path.c_str());
  if (link_result != 0 && link_error != EEXIST) {
    return ErrnoStatus(link_error, "cannot create", result.path);
  }
  if (link_result == 0) {
    // Make the new directory entry durable too.
    const int dir_fd = open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      fsync(dir_fd);
      close(dir_fd);
    }
    result.secret = *std::move(secret);
    result.created = true;
    return result;
  }
  // Someone else created it between our check and our link: use theirs.
  absl::StatusOr<std::string> existing = ReadGeneratedSecret(result.path);
  if (!existing.ok()) return existing.status();
  result.secret = *std::move(existing);
  return result;
}

absl::StatusOr<ResolvedSigningSecrets> ResolveSigningSecrets(const SigningSecretSources& sources) {
  ResolvedSigningSecrets resolved;
  auto add = [&resolved](std::string secret) {
    for (const std::string& known : resolved.secrets) {
      if (known == secret) return;
    }
    resolved.secrets.push_back(std::move(secret));
  };
  std::vector<std::string> listed = ParseSecretList(sources.comma_separated);
  if (listed.empty() && !sources.comma_separated.empty()) {
    // ',,,' or blanks: a typo, not a request for a generated secret that
    // Terra does not know (the value itself is never echoed).
    return absl::InvalidArgumentError(
        "--signing_secret holds no usable secret (only commas or blanks)");
  }
  for (std::string& secret : listed) add(std::move(secret));
  if (!sources.file.empty()) {
    absl::StatusOr<std::vector<std::string>> from_file = LoadSecretsFromFile(sources.file);
    if (!from_file.ok()) return from_file.status();
    if (from_file->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing secret file ", sources.file, " holds no secret"));
    }
    for (std::string& secret : *from_file) add(std::move(secret));
  }
  if (!resolved.secrets.empty()) return resolved;

  if (sources.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "no webhook signing secret configured and no data folder to keep a generated one");
  }
  absl::StatusOr<GeneratedSecret> generated = LoadOrCreateGeneratedSecret(sources.data_dir);
  if (!generated.ok()) return generated.status();
  resolved.secrets.push_back(generated->secret);
  resolved.generated = *std::move(generated);
  return resolved;
}

}  // namespace healthwire
