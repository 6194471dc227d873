// presign_webhooks: writes N signed, all-distinct Terra webhook requests to a
// file, for a load generator that must not spend CPU on JSON or HMAC while it
// measures (tools/bench/wrk_presigned.lua sends them with wrk).
//
// Every request is a complete HTTP/1.1 POST (headers, terra-signature signed
// now with --secret by the server's own SignatureVerifier::Sign, body), framed
// as "<byte count>\n<request bytes>". Each body carries its own summary_id
// ("<tag>-<kind>-<10-digit sequence>"), so every request is a new record: no
// request is an identical re-delivery. Users cycle over bench-user-0..users-1
// (the users GetLatest asks for). The signatures are valid for the server's
// --signature_tolerance (36 h by default) from the time they are written.
//
// Bodies are built once per user from tools/bench's Terra-shaped builders with
// a fixed-width placeholder id, then only the id is substituted and the body
// signed: a million 1.1 KB requests take a few seconds.
//
//   presign_webhooks --secret=s --kind=sleep --body_bytes=1100 --count=600000
//                    --out=/tmp/sleep.req
//
// Prints "RESULT requests=N bytes=B avg_body=A" on success.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(std::string, secret, "", "Signing secret (as given to healthwire --signing_secret).");
ABSL_FLAG(std::string, kind, "sleep", "sleep | activity");
ABSL_FLAG(int64_t, body_bytes, 1100, "Approximate body size (bodies are at least this big).");
ABSL_FLAG(int64_t, count, 100000, "Requests to write.");
ABSL_FLAG(int, users, 64, "Distinct user ids (bench-user-<i>) the records are spread over.");
ABSL_FLAG(std::string, tag, "", "summary_id prefix; empty = derived from the clock.");
ABSL_FLAG(std::string, path, "/webhooks/terra", "Webhook path.");
ABSL_FLAG(std::string, out, "", "Output file.");
ABSL_FLAG(int64_t, max_file_bytes, int64_t{8} << 30, "Refuse to write more than this.");

namespace healthwire {
namespace bench {
namespace {

int Run() {
  const std::string secret = absl::GetFlag(FLAGS_secret);
  const std::string kind = absl::GetFlag(FLAGS_kind);
  const std::string out_path = absl::GetFlag(FLAGS_out);
  const int64_t count = absl::GetFlag(FLAGS_count);
  const int users = std::max(1, absl::GetFlag(FLAGS_users));
  const size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  if (secret.empty() || out_path.empty()) {
    std::fprintf(stderr, "presign_webhooks: --secret and --out are required\n");
    return 2;
  }
  if (kind != "sleep" && kind != "activity") {
    std::fprintf(stderr, "presign_webhooks: --kind must be sleep or activity\n");
    return 2;
  }
  if (count <= 0 || count > 9'999'999'999LL) {
    std::fprintf(stderr, "presign_webhooks: --count must be in 1..9999999999\n");
    return 2;
  }
  std::string tag = absl::GetFlag(FLAGS_tag);
  if (tag.empty()) tag = absl::StrCat("p", NowNanos() / 1000);
  const std::string id_prefix = absl::StrCat(tag, "-", kind, "-");
  const std::string placeholder(id_prefix.size() + 10, '#');

  // One template per user; the placeholder appears exactly once (summary_id).
  struct Template {
    std::string before, after;
  };
  std::vector<Template> templates;
  const int64_t base_start = 1767225600;  // 2026-01-01
  for (int u = 0; u < users; ++u) {
    const std::string user = absl::StrCat("bench-user-", u);
    // The builders pad to about body_bytes; ask for more until the body is at
    // least body_bytes (the size the ceiling's db_bench values have).
    Webhook w;
    for (size_t target = body_bytes;; target += 16) {
      w = kind == "sleep" ? SleepWebhook(user, placeholder, base_start + u * 86400, target)
                          : ActivityWebhook(user, placeholder, base_start + u * 86400, target);
      if (w.body.size() >= body_bytes) break;
    }
    const size_t at = w.body.find(placeholder);
    if (at == std::string::npos || w.body.find(placeholder, at + 1) != std::string::npos) {
      std::fprintf(stderr, "presign_webhooks: placeholder not unique in the body\n");
      return 1;
    }
    templates.push_back({w.body.substr(0, at), w.body.substr(at + placeholder.size())});
  }
  const size_t body_size = templates[0].before.size() + placeholder.size() +
                           templates[0].after.size();
  if (static_cast<double>(body_size + 300) * static_cast<double>(count) >
      static_cast<double>(absl::GetFlag(FLAGS_max_file_bytes))) {
    std::fprintf(stderr, "presign_webhooks: %lld requests of %zu B exceed --max_file_bytes\n",
                 static_cast<long long>(count), body_size);
    return 2;
  }

  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "presign_webhooks: cannot write %s\n", out_path.c_str());
    return 1;
  }
  const std::string path = absl::GetFlag(FLAGS_path);
  std::string body, request;
  int64_t total_bytes = 0, body_total = 0;
  for (int64_t seq = 0; seq < count; ++seq) {
    const Template& t = templates[seq % users];
    body.clear();
    absl::StrAppend(&body, t.before, id_prefix, absl::StrFormat("%010d", seq), t.after);
    request = absl::StrCat("POST ", path,
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n",
                           SignatureHeader(secret, body), "\r\nContent-Length: ", body.size(),
                           "\r\n\r\n", body);
    out << request.size() << '\n' << request;
    total_bytes += static_cast<int64_t>(request.size());
    body_total += static_cast<int64_t>(body.size());
  }
  out.close();
  if (!out) {
    std::fprintf(stderr, "presign_webhooks: writing %s failed\n", out_path.c_str());
    return 1;
  }
  std::printf("RESULT requests=%lld bytes=%lld avg_body=%lld\n", static_cast<long long>(count),
              static_cast<long long>(total_bytes), static_cast<long long>(body_total / count));
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  healthwire::ParseFlagsWithVersion(argc, argv, "presign_webhooks");
  return healthwire::bench::Run();
}
