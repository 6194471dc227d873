#include "server/readapi/read_api_handler.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/util/json_util.h"
#include "server/security/delegated_call.h"
#include "server/service/event_store_service.h"

namespace healthwire {
namespace {

constexpr char kEventStreamType[] = "text/event-stream";
constexpr char kNdjsonType[] = "application/x-ndjson";

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

// "%XX" and "+" decoded; false on a malformed escape.
bool UrlDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] == '%') {
      int value = 0;
      if (i + 2 >= in.size()) return false;
      if (!absl::SimpleHexAtoi(in.substr(i + 1, 2), &value)) return false;
      out->push_back(static_cast<char>(value));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

struct ParsedTarget {
  std::vector<std::string> segments;  // decoded path segments
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  const std::string* Param(absl::string_view name) const {
    for (const auto& [key, value] : query) {
      if (key == name) return &value;
    }
    return nullptr;
  }
};

absl::StatusOr<ParsedTarget> ParseTarget(absl::string_view target) {
  ParsedTarget parsed;
  absl::string_view path = target, query;
  if (const size_t q = target.find('?'); q != absl::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  for (absl::string_view segment : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    std::string decoded;
    if (!UrlDecode(segment, &decoded)) {
      return absl::InvalidArgumentError("malformed %-escape in the path");
    }
    parsed.segments.push_back(std::move(decoded));
  }
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, '=');
    std::string key, value;
    if (!UrlDecode(kv.first, &key) || !UrlDecode(kv.second, &value)) {
      return absl::InvalidArgumentError("malformed %-escape in the query");
    }
    parsed.query.emplace_back(std::move(key), std::move(value));
  }
  return parsed;
}

// "sleep", "SLEEP", "EVENT_TYPE_SLEEP", "planned_workout" or the number.
absl::StatusOr<v1::EventType> ParseType(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (!absl::StartsWith(upper, "EVENT_TYPE_")) upper = absl::StrCat("EVENT_TYPE_", upper);
  v1::EventType type;
  if (v1::EventType_Parse(upper, &type) && type != v1::EVENT_TYPE_UNSPECIFIED) return type;
  int number = 0;
  if (absl::SimpleAtoi(name, &number) && v1::EventType_IsValid(number) && number != 0) {
    return static_cast<v1::EventType>(number);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown type \"", name.substr(0, 64),
      "\" (sleep, activity, body, daily, nutrition, menstruation, athlete, planned_workout, "
      "hormone, health_observation, auth, deauth, ... or an EventType name)"));
}

absl::StatusOr<bool> ParseBool(const ParsedTarget& target, absl::string_view name) {
  const std::string* value = target.Param(name);
  if (value == nullptr) return false;
  if (*value == "" || *value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(name, ": must be true or false"));
}

// RFC 3339 ("2026-11-30T22:00:00Z") or a UTC date ("2026-11-30").
absl::StatusOr<google::protobuf::Timestamp> ParseTimestamp(absl::string_view name,
                                                            const std::string& value) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(value, &day)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": \"", value.substr(0, 64),
          "\" is neither an RFC 3339 time (2026-11-30T22:00:00Z) nor a date (2026-11-30)"));
    }
    time = absl::FromCivil(day, absl::UTCTimeZone());
  }
  google::protobuf::Timestamp timestamp;
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) /
                                           absl::Nanoseconds(1)));
  return timestamp;
}

// The subject of /v1/users/{id}/...: the user_id, or with `-` the
// ?reference_id= (or ?user_id=).
absl::StatusOr<v1::Subject> SubjectOf(const ParsedTarget& target, const std::string& segment) {
  v1::Subject subject;
  const std::string* reference = target.Param("reference_id");
  if (segment == "-") {
    if (reference != nullptr) {
      subject.set_reference_id(*reference);
    } else if (const std::string* user = target.Param("user_id"); user != nullptr) {
      subject.set_user_id(*user);
    } else {
      return absl::InvalidArgumentError(
          "/v1/users/-/...: give ?reference_id=R (or ?user_id=U) with the - placeholder");
    }
    return subject;
  }
  if (reference != nullptr) {
    return absl::InvalidArgumentError(
        "both a user_id in the path and ?reference_id=; use /v1/users/-/...?reference_id=R");
  }
  subject.set_user_id(segment);
  return subject;
}

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::OUT_OF_RANGE:
      return 410;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    default:
      return 500;
  }
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "INTERNAL";
  }
}

std::string StatusJson(grpc::StatusCode code, absl::string_view message) {
  return absl::StrCat("{\"code\":", static_cast<int>(code), ",\"status\":\"", CodeName(code),
                      "\",\"message\":", JsonQuote(message), "}");
}

ReadApiReply BadRequest(const absl::Status& status) {
  ReadApiReply reply;
  reply.status = 400;
  reply.body = StatusJson(grpc::StatusCode::INVALID_ARGUMENT, status.message());
  return reply;
}

// {"store_revision":..,"store_timeline":..,<key>:<json>} in the JSON
// mapping's own form (uint64 as a string).
std::string Envelope(absl::string_view key, absl::string_view json, uint64_t revision,
                     absl::string_view timeline) {
  return absl::StrCat("{", JsonQuote(key), ":", json, ",\"store_revision\":\"", revision,
                      "\",\"store_timeline\":", JsonQuote(timeline), "}");
}

// gRPC metadata values are printable ASCII; anything else would fail the
// call inside gRPC instead of being a clear 401.
bool IsPrintableAscii(absl::string_view value) {
  for (const char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Makes `context` carry the HTTP client's credentials and address (see the
// header); false when the Authorization header cannot be forwarded.
bool ActOnBehalfOf(const ReadApiRequest& request, grpc::ClientContext* context) {
  if (!IsPrintableAscii(request.authorization)) return false;
  if (!request.authorization.empty()) context->AddMetadata("authorization", request.authorization);
  std::string remote = absl::StrCat("http:", request.remote);
  if (!IsPrintableAscii(remote)) remote = "http:?";
  context->AddMetadata(kOnBehalfOfMetadataKey, remote.substr(0, kMaxOnBehalfOfBytes));
  return true;
}

ReadApiReply MalformedAuthorization() {
  ReadApiReply reply;
  reply.status = 401;
  reply.headers = "WWW-Authenticate: Bearer\r\n";
  reply.body = StatusJson(grpc::StatusCode::UNAUTHENTICATED,
                          "the Authorization header must be `Bearer <token>` in printable ASCII");
  return reply;
}

}  // namespace

std::string EventJson(const v1::Event& event, bool raw) {
  if (!raw || event.raw_json().empty()) {
    if (event.raw_json().empty()) return ToJson(event);
    v1::Event copy = event;
    copy.clear_raw_json();
    return ToJson(copy);
  }
  v1::Event copy = event;
  std::string raw_json = std::move(*copy.mutable_raw_json());
  copy.clear_raw_json();
  std::string json = ToJson(copy);
  // The record exactly as received is JSON already: spliced in verbatim.
  json.insert(json.size() - 1, absl::StrCat(json.size() > 2 ? "," : "", "\"raw\":", raw_json));
  return json;
}

ReadApiStream::~ReadApiStream() {
  if (reader_ != nullptr && !finished_) {
    context_.TryCancel();
    reader_->Finish().error_code();
  }
}

const std::string& ReadApiStream::content_type() const {
  static const std::string* sse = new std::string(kEventStreamType);
  static const std::string* ndjson = new std::string(kNdjsonType);
  return format_ == Format::kServerSentEvents ? *sse : *ndjson;
}

bool ReadApiStream::Next(std::string* chunk) {
  chunk->clear();
  if (finished_) return false;
  v1::StreamUpdatesResponse response;
  if (reader_->Read(&response)) {
    const bool sse = format_ == Format::kServerSentEvents;
    if (response.has_update()) {
      const std::string json = EventJson(response.update(), raw_);
      *chunk = sse ? absl::StrCat("event: update\nid: ", response.update().revision(),
                                  "\ndata: ", json, "\n\n")
                   : absl::StrCat("{\"update\":", json, "}\n");
    } else {
      // A checkpoint: everything matching up to this revision was sent, so a
      // reconnect with it as Last-Event-ID misses nothing.
      const uint64_t revision = response.progress_revision();
      *chunk = sse ? absl::StrCat("event: progress\nid: ", revision,
                                  "\ndata: {\"progress_revision\":\"", revision, "\"}\n\n")
                   : absl::StrCat("{\"progress_revision\":\"", revision, "\"}\n");
    }
    return true;
  }
  finished_ = true;
  const grpc::Status status = reader_->Finish();
  if (status.error_code() == grpc::StatusCode::CANCELLED) return false;
  const std::string json = StatusJson(status.error_code(), status.error_message());
  *chunk = format_ == Format::kServerSentEvents ? absl::StrCat("event: error\ndata: ", json, "\n\n")
                                               : absl::StrCat("{\"error\":", json, "}\n");
  return false;
}

ReadApiHandler::ReadApiHandler(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(v1::EventStore::NewStub(std::move(channel))), options_(options) {}

bool ReadApiHandler::IsStream(const ReadApiRequest& request) {
  absl::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  return path == "/v1/updates" || path == "/v1/updates/";
}

ReadApiReply ReadApiHandler::ErrorReply(int http_status, absl::string_view status_name,
                                        absl::string_view message) {
  ReadApiReply reply;
  reply.status = http_status;
  // No gRPC code: these are the HTTP layer's own refusals.
  reply.body = absl::StrCat("{\"status\":", JsonQuote(status_name),
                            ",\"message\":", JsonQuote(message), "}");
  return reply;
}

ReadApiReply ReadApiHandler::FromStatus(const grpc::Status& status) const {
  ReadApiReply reply;
  reply.status = HttpStatusOf(status.error_code());
  if (reply.status == 401) reply.headers = "WWW-Authenticate: Bearer\r\n";
  reply.body = StatusJson(status.error_code(), status.error_message());
  return reply;
}

std::unique_ptr<grpc::ClientContext> ReadApiHandler::CallContext(
    const ReadApiRequest& request) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.call_deadline));
  if (!ActOnBehalfOf(request, context.get())) return nullptr;
  return context;
}

ReadApiReply ReadApiHandler::Handle(const ReadApiRequest& request) {
  if (request.method != "GET") {
    return ErrorReply(405, "METHOD_NOT_ALLOWED", "the read API answers GET only");
  }
  absl::StatusOr<ParsedTarget> target = ParseTarget(request.target);
  if (!target.ok()) return BadRequest(target.status());
  const std::vector<std::string>& s = target->segments;
  if (s.size() < 3 || s[0] != "v1" || s[1] != "users" || s.size() == 4 || s.size() > 5 ||
      (s.size() == 5 && s[3] != "latest" && s[3] != "records")) {
    return ErrorReply(404, "NOT_FOUND",
                      "no such endpoint: GET /v1/users/{user_id}, /v1/users/{user_id}/latest/"
                      "{type}, /v1/users/{user_id}/records/{type}, /v1/updates");
  }
  absl::StatusOr<v1::Subject> subject = SubjectOf(*target, s[2]);
  if (!subject.ok()) return BadRequest(subject.status());
  absl::StatusOr<bool> raw = ParseBool(*target, "raw");
  if (!raw.ok()) return BadRequest(raw.status());

  if (s.size() == 3) {
    v1::GetUserRequest call;
    *call.mutable_subject() = *subject;
    v1::GetUserResponse response;
    auto context = CallContext(request);
    if (context == nullptr) return MalformedAuthorization();
    const grpc::Status status = stub_->GetUser(context.get(), call, &response);
    if (!status.ok()) return FromStatus(status);
    ReadApiReply reply;
    reply.body = ToJson(response);
    return reply;
  }

  absl::StatusOr<v1::EventType> type = ParseType(s[4]);
  if (!type.ok()) return BadRequest(type.status());
  if (s[3] == "latest") {
    v1::GetLatestRequest call;
    *call.mutable_subject() = *subject;
    call.set_type(*type);
    call.set_omit_raw_json(!*raw);
    v1::GetLatestResponse response;
    auto context = CallContext(request);
    if (context == nullptr) return MalformedAuthorization();
    const grpc::Status status = stub_->GetLatest(context.get(), call, &response);
    if (!status.ok()) return FromStatus(status);
    ReadApiReply reply;
    reply.body = Envelope("event", EventJson(response.event(), *raw), response.store_revision(),
                          response.store_timeline());
    return reply;
  }

  v1::ListRecordsRequest call;
  *call.mutable_subject() = *subject;
  call.set_type(*type);
  call.set_omit_raw_json(!*raw);
  if (const std::string* from = target->Param("from"); from != nullptr) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseTimestamp("from", *from);
    if (!t.ok()) return BadRequest(t.status());
    *call.mutable_start_time_from() = *t;
  }
  if (const std::string* to = target->Param("to"); to != nullptr) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseTimestamp("to", *to);
    if (!t.ok()) return BadRequest(t.status());
    *call.mutable_start_time_to() = *t;
  }
  if (const std::string* size = target->Param("page_size"); size != nullptr) {
    int page_size = 0;
    if (!absl::SimpleAtoi(*size, &page_size)) {
      return BadRequest(absl::InvalidArgumentError("page_size: not a number"));
    }
    call.set_page_size(page_size);
  }
  if (const std::string* token = target->Param("page_token"); token != nullptr) {
    call.set_page_token(*token);
  }
  v1::ListRecordsResponse response;
  auto context = CallContext(request);
  if (context == nullptr) return MalformedAuthorization();
  const grpc::Status status = stub_->ListRecords(context.get(), call, &response);
  if (!status.ok()) return FromStatus(status);
  std::string events = "[";
  for (int i = 0; i < response.events_size(); ++i) {
    if (i > 0) events.push_back(',');
    absl::StrAppend(&events, EventJson(response.events(i), *raw));
  }
  events.push_back(']');
  ReadApiReply reply;
  reply.body = Envelope("events", events, response.store_revision(), response.store_timeline());
  reply.body.insert(reply.body.size() - 1,
                    absl::StrCat(",\"next_page_token\":", JsonQuote(response.next_page_token())));
  return reply;
}

absl::StatusOr<std::unique_ptr<ReadApiStream>> ReadApiHandler::OpenStream(
    const ReadApiRequest& request, ReadApiReply* error) {
  auto refuse = [error](ReadApiReply reply) {
    *error = std::move(reply);
    return absl::FailedPreconditionError("refused");
  };
  if (request.method != "GET") {
    return refuse(ErrorReply(405, "METHOD_NOT_ALLOWED", "the read API answers GET only"));
  }
  absl::StatusOr<ParsedTarget> target = ParseTarget(request.target);
  if (!target.ok()) return refuse(BadRequest(target.status()));

  v1::StreamUpdatesRequest call;
  for (const auto& [key, value] : target->query) {
    if (key != "types" && key != "user_ids" && key != "reference_ids") continue;
    for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      if (key == "types") {
        absl::StatusOr<v1::EventType> type = ParseType(item);
        if (!type.ok()) return refuse(BadRequest(type.status()));
        call.add_types(*type);
      } else if (key == "user_ids") {
        call.add_user_ids(std::string(item));
      } else {
        call.add_reference_ids(std::string(item));
      }
    }
  }
  // Last-Event-ID (an EventSource reconnecting) is the last revision the
  // client saw; it wins over ?from_revision= of the original URL.
  if (!request.last_event_id.empty()) {
    uint64_t last = 0;
    if (!absl::SimpleAtoi(request.last_event_id, &last)) {
      return refuse(BadRequest(
          absl::InvalidArgumentError("Last-Event-ID: must be the revision of the last event")));
    }
    call.set_start_revision(last + 1);
  } else if (const std::string* from = target->Param("from_revision"); from != nullptr) {
    uint64_t revision = 0;
    if (!absl::SimpleAtoi(*from, &revision)) {
      return refuse(BadRequest(absl::InvalidArgumentError("from_revision: not a number")));
    }
    call.set_start_revision(revision);
  }
  if (const std::string* timeline = target->Param("timeline"); timeline != nullptr) {
    call.set_store_timeline(*timeline);
  }
  absl::StatusOr<bool> raw = ParseBool(*target, "raw");
  if (!raw.ok()) return refuse(BadRequest(raw.status()));
  call.set_include_raw_json(*raw);
  call.set_progress_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat)));

  std::unique_ptr<ReadApiStream> stream(new ReadApiStream());
  stream->raw_ = *raw;
  const std::string* format = target->Param("format");
  if ((format != nullptr && *format == "ndjson") ||
      (format == nullptr && absl::StrContains(request.accept, "ndjson"))) {
    stream->format_ = ReadApiStream::Format::kNdjson;
  } else if (format != nullptr && *format != "sse") {
    return refuse(BadRequest(absl::InvalidArgumentError("format: sse or ndjson")));
  }
  if (!ActOnBehalfOf(request, &stream->context_)) return refuse(MalformedAuthorization());
  stream->reader_ = stub_->StreamUpdates(&stream->context_, call);
  // The service sends its initial metadata (the timeline) as soon as it has
  // accepted the call; a refusal comes as the call's status instead.
  stream->reader_->WaitForInitialMetadata();
  const auto& metadata = stream->context_.GetServerInitialMetadata();
  const auto timeline = metadata.find(kStoreTimelineMetadataKey);
  if (timeline == metadata.end()) {
    stream->finished_ = true;
    v1::StreamUpdatesResponse ignored;
    while (stream->reader_->Read(&ignored)) {
    }
    const grpc::Status status = stream->reader_->Finish();
    return refuse(FromStatus(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                        "the stream ended before it started")
                                         : status));
  }
  stream->timeline_ = std::string(timeline->second.data(), timeline->second.size());
  return stream;
}

}  // namespace healthwire
