#include "server/webhook/http_reply.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthwire {

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string ErrorJson(absl::string_view error) {
  return absl::StrCat("{\"status\":\"error\",\"error\":", JsonString(error), "}");
}

HttpReply ErrorReply(int status, std::string reason, absl::string_view error) {
  HttpReply reply;
  reply.status = status;
  reply.reason = std::move(reason);
  reply.body = ErrorJson(error);
  return reply;
}

std::string Printable(absl::string_view s, size_t max_length) {
  std::string out;
  for (char c : s.substr(0, max_length)) out.push_back(absl::ascii_isprint(c) ? c : '?');
  if (s.size() > max_length) out += "...";
  return out;
}

}  // namespace healthwire
