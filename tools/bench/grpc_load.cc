// grpc_load: healthwire's gRPC benchmarks (public API only).
//
//   --mode=getlatest   N concurrent callers of GetLatest (sleep, users
//                      bench-user-<i> written by webhook_load): req/s, latency.
//   --mode=replay      StreamUpdates from revision 1 with raw JSON until the
//                      replay catches up (first progress message): events/s.
//   --mode=sublatency  S live subscribers; webhooks posted at R/s whose
//                      summary_id carries a sequence number; latency per
//                      receipt = receive time - time the webhook's 2xx arrived
//                      (also reported: receive time - send time).
//   --mode=subscribe   S live subscribers read for a duration while another
//                      tool ingests (run_all.sh: ingest while they stream).
//   --mode=memory      S subscribers of which K never read (stalled); E
//                      webhooks posted as fast as possible; the server's
//                      VmRSS (/proc/<server_pid>/status) sampled every 50 ms.
//
// Every mode reports its own CPU over the measured phase (gen_cpu_pct, % of one
// core: utime + stime of this process) since it shares the machine with the
// server. The last line is machine-readable: "RESULT key=value ...".
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(std::string, mode, "getlatest",
          "getlatest | replay | sublatency | memory | subscribe");
ABSL_FLAG(int, grpc_port, 50051, "healthwire's gRPC port (127.0.0.1).");
ABSL_FLAG(int, http_port, 8080, "healthwire's webhook port (sublatency, memory).");
ABSL_FLAG(std::string, secret, "", "Webhook signing secret (sublatency, memory).");
ABSL_FLAG(int, callers, 32, "getlatest: calls in flight at any time.");
ABSL_FLAG(int, client_threads, 1, "getlatest: threads driving the calls (async, one queue each).");
ABSL_FLAG(int, channels, 4, "getlatest: gRPC channels (connections) the calls are spread over.");
ABSL_FLAG(int, users, 64, "getlatest: users bench-user-0..users-1 to ask for.");
ABSL_FLAG(bool, omit_raw_json, false, "getlatest: ask without raw_json.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(15),
          "getlatest/sublatency: how long; replay: upper bound.");
ABSL_FLAG(int64_t, max_events, 5000000, "replay: stop after this many events.");
ABSL_FLAG(int, subscribers, 100, "sublatency/memory: subscribers.");
ABSL_FLAG(int, stalled, 10, "memory: subscribers that never read.");
ABSL_FLAG(int, rate, 1000, "sublatency: webhooks per second.");
ABSL_FLAG(int, events, 10000, "memory: webhooks to post.");
ABSL_FLAG(int, post_connections, 8, "sublatency/memory: HTTP connections posting.");
ABSL_FLAG(int64_t, body_bytes, 1100, "sublatency/memory: sleep body size.");
ABSL_FLAG(bool, sub_raw_json, true, "sublatency/memory: subscribers ask for raw_json.");
ABSL_FLAG(int, server_pid, 0, "memory: the server's pid (for /proc/<pid>/status).");

namespace healthwire {
namespace bench {
namespace {

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const std::string target = absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_grpc_port));
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections, not one shared subchannel
    args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);  // whatever the store can send
    channels.push_back(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// ---- GetLatest ----

// The generator is light: --client_threads threads (1 by default), each
// driving its share of the --callers outstanding calls on its own completion
// queue through gRPC's generic stub, with requests serialized once before the
// run and responses kept as bytes (status checked, sizes summed; one in 1,024
// parsed to check it is the asked-for user's sleep). Each slot's call state
// is reused (a new ClientContext built in place, no allocation of ours per
// call), and calls carry no deadline, which would arm and cancel a gRPC timer
// per call: instead, calls still outstanding 10 s after the run are
// cancelled, and count as errors.
int RunGetLatest() {
  const int callers = std::max(1, absl::GetFlag(FLAGS_callers));
  const int users = std::max(1, absl::GetFlag(FLAGS_users));
  const int client_threads = std::clamp(absl::GetFlag(FLAGS_client_threads), 1, callers);
  auto channels = MakeChannels(std::max(1, absl::GetFlag(FLAGS_channels)));
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (auto& channel : channels) stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  std::vector<grpc::ByteBuffer> requests(users);
  for (int u = 0; u < users; ++u) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(absl::StrCat("bench-user-", u));
    request.set_type(v1::EVENT_TYPE_SLEEP);
    request.set_omit_raw_json(absl::GetFlag(FLAGS_omit_raw_json));
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    requests[u] = grpc::ByteBuffer(&slice, 1);
  }
  const std::string method = "/healthwire.v1.EventStore/GetLatest";

  struct Call {
    std::optional<grpc::ClientContext> context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
    int user = 0;
    int64_t t0 = 0;
  };
  struct ThreadResult {
    std::vector<int64_t> latencies;
    int64_t errors = 0, not_found = 0, wrong = 0, bytes = 0;
  };
  std::vector<ThreadResult> results(client_threads);
  std::vector<std::thread> threads;
  const double cpu0 = ProcessCpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time stop_at = start + absl::GetFlag(FLAGS_duration);
  for (int t = 0; t < client_threads; ++t) {
    threads.emplace_back([&, t] {
      ThreadResult& r = results[t];
      r.latencies.reserve(1 << 20);
      grpc::CompletionQueue cq;
      const int slots = callers / client_threads + (t < callers % client_threads ? 1 : 0);
      std::vector<Call> calls(slots);
      int64_t next = t, completed = 0;
      auto start_call = [&](int slot) {
        Call& call = calls[slot];
        call.user = static_cast<int>(next++ % users);
        call.response.Clear();
        call.context.emplace();
        call.t0 = NowNanos();
        call.reader = stubs[(t + slot) % stubs.size()]->PrepareUnaryCall(
            &*call.context, method, requests[call.user], &cq);
        call.reader->StartCall();
        call.reader->Finish(&call.response, &call.status,
                            reinterpret_cast<void*>(static_cast<intptr_t>(slot)));
      };
      for (int slot = 0; slot < slots; ++slot) start_call(slot);
      int outstanding = slots;
      bool cancelled = false;
      const auto cancel_at = absl::ToChronoTime(stop_at + absl::Seconds(10));
      void* tag;
      bool ok;
      while (outstanding > 0) {
        const grpc::CompletionQueue::NextStatus got = cq.AsyncNext(&tag, &ok, cancel_at);
        if (got == grpc::CompletionQueue::SHUTDOWN) break;
        if (got == grpc::CompletionQueue::TIMEOUT) {
          if (cancelled) break;
          cancelled = true;  // stuck calls: cancel them; they complete as errors
          for (Call& call : calls) {
            if (call.context.has_value()) call.context->TryCancel();
          }
          continue;
        }
        const int slot = static_cast<int>(reinterpret_cast<intptr_t>(tag));
        Call& call = calls[slot];
        const int64_t t1 = NowNanos();
        if (ok && call.status.ok()) {
          r.latencies.push_back(t1 - call.t0);
          r.bytes += static_cast<int64_t>(call.response.Length());
          if ((++completed & 1023) == 0) {
            v1::GetLatestResponse parsed;
            grpc::ProtoBufferReader reader(&call.response);
            if (!parsed.ParseFromZeroCopyStream(&reader) ||
                parsed.event().user().user_id() !=
                    absl::StrCat("bench-user-", call.user)) {
              ++r.wrong;
            }
          }
        } else if (call.status.error_code() == grpc::StatusCode::NOT_FOUND) {
          ++r.not_found;
        } else if (++r.errors <= 3) {
          std::fprintf(stderr, "GetLatest: %s\n", call.status.error_message().c_str());
        }
        call.reader.reset();
        if (absl::Now() < stop_at) {
          start_call(slot);
        } else {
          call.context.reset();
          --outstanding;
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_pct = (ProcessCpuSeconds() - cpu0) / seconds * 100;
  std::vector<int64_t> all;
  int64_t err = 0, nf = 0, wrong = 0, bytes = 0;
  for (ThreadResult& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    err += r.errors;
    nf += r.not_found;
    wrong += r.wrong;
    bytes += r.bytes;
  }
  LatencySummary s = Summarize(&all);
  const double rps = s.count / seconds;
  std::printf("getlatest: %d callers on %d client thread(s), %zu channel(s), %.1fs ok=%zu "
              "not_found=%lld errors=%lld wrong=%lld %.0f req/s, avg response %lld B, "
              "generator CPU %.1f%% of a core\n",
              callers, client_threads, channels.size(), seconds, s.count,
              static_cast<long long>(nf), static_cast<long long>(err),
              static_cast<long long>(wrong), rps,
              static_cast<long long>(s.count > 0 ? bytes / static_cast<int64_t>(s.count) : 0),
              cpu_pct);
  std::printf("  latency: %s\n", FormatSummary(s).c_str());
  std::printf("RESULT label=getlatest ok=%zu errors=%lld not_found=%lld wrong=%lld "
              "req_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
              "gen_cpu_pct=%.1f\n",
              s.count, static_cast<long long>(err), static_cast<long long>(nf),
              static_cast<long long>(wrong), rps, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms,
              cpu_pct);
  return s.count > 0 && err == 0 && wrong == 0 ? 0 : 1;
}

// ---- replay ----

// What the light readers need of a serialized StreamUpdatesResponse, read
// without decoding the event (the typed payload is skipped as bytes): its
// update's revision, raw_json size and, when `record_key` is given, record_key.
// False for a progress message (it has no update) or bytes that do not parse.
struct ScannedUpdate {
  uint64_t revision = 0;
  int64_t raw_json_bytes = 0;
};
bool ScanUpdate(grpc::ByteBuffer* bytes, ScannedUpdate* update, std::string* record_key) {
  using google::protobuf::internal::WireFormatLite;
  grpc::ProtoBufferReader reader(bytes);
  google::protobuf::io::CodedInputStream input(&reader);
  while (const uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) != v1::StreamUpdatesResponse::kUpdateFieldNumber ||
        WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&input, tag)) return false;
      continue;
    }
    uint32_t length = 0;
    if (!input.ReadVarint32(&length)) return false;
    const auto limit = input.PushLimit(static_cast<int>(length));
    *update = ScannedUpdate();
    while (const uint32_t field = input.ReadTag()) {
      const int number = WireFormatLite::GetTagFieldNumber(field);
      const bool delimited =
          WireFormatLite::GetTagWireType(field) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
      if (number == v1::Event::kRevisionFieldNumber &&
          WireFormatLite::GetTagWireType(field) == WireFormatLite::WIRETYPE_VARINT) {
        if (!input.ReadVarint64(&update->revision)) return false;
      } else if (number == v1::Event::kRawJsonFieldNumber && delimited) {
        uint32_t size = 0;
        if (!input.ReadVarint32(&size) || !input.Skip(static_cast<int>(size))) return false;
        update->raw_json_bytes = size;
      } else if (number == v1::Event::kRecordKeyFieldNumber && delimited && record_key != nullptr) {
        if (!WireFormatLite::ReadString(&input, record_key)) return false;
      } else if (!WireFormatLite::SkipField(&input, field)) {
        return false;
      }
    }
    input.PopLimit(limit);
    return true;
  }
  return false;
}

// The replay client is light, like the subscribers: one generic
// StreamUpdates call on gRPC's callback API (bytes in and out, reads started
// from gRPC's own thread as each one completes), each response scanned for
// its revision and raw_json size only. (Before 2026-12-03 16:00 it was a
// synchronous typed reader decoding every event in full: ~45% of a core.)
class ReplayReader : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ReplayReader(grpc::GenericStub* stub, int64_t max_events, absl::Duration limit)
      : max_events_(max_events) {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    request.set_include_raw_json(true);
    request.set_progress_interval_ms(300);
    grpc::Slice slice(request.SerializeAsString());
    grpc::ByteBuffer bytes(&slice, 1);
    request_.Swap(&bytes);
    context_.set_deadline(absl::ToChronoTime(absl::Now() + limit));
    stub->PrepareBidiStreamingCall(&context_, "/healthwire.v1.EventStore/StreamUpdates",
                                   grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    ScannedUpdate update;
    if (!ok || !ScanUpdate(&response_, &update, /*record_key=*/nullptr)) {
      Stop();  // caught up (a progress message), or the call ended
      return;
    }
    const uint64_t revision = update.revision;
    if (first_ == 0) first_ = revision;
    if (revision != expected_) dense_ = false;
    expected_ = revision + 1;
    last_ = revision;
    bytes_ += update.raw_json_bytes;
    last_update_ns_ = NowNanos();
    if (++events_ >= max_events_) {
      Stop();
      return;
    }
    response_.Clear();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& /*status*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  // Blocks until the replay caught up (or ended); the counters are then final.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopped_; });
  }
  void CancelAndWait() {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }
  int64_t events() const { return events_; }
  int64_t bytes() const { return bytes_; }
  int64_t last_update_ns() const { return last_update_ns_; }
  uint64_t first() const { return first_; }
  uint64_t last() const { return last_; }
  bool dense() const { return dense_; }

 private:
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

  const int64_t max_events_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_, response_;
  // Written by gRPC's thread before Stop(), read after Wait().
  int64_t events_ = 0, bytes_ = 0, last_update_ns_ = 0;
  uint64_t expected_ = 1, first_ = 0, last_ = 0;
  bool dense_ = true;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false, done_ = false;
};

int RunReplay() {
  auto channels = MakeChannels(1);
  grpc::GenericStub stub(channels[0]);
  const double cpu0 = ProcessCpuSeconds();
  const int64_t t0 = NowNanos();
  ReplayReader reader(&stub, absl::GetFlag(FLAGS_max_events), absl::GetFlag(FLAGS_duration));
  reader.Wait();
  const double cpu_seconds = ProcessCpuSeconds() - cpu0;
  reader.CancelAndWait();
  const int64_t events = reader.events(), bytes = reader.bytes();
  const bool dense = reader.dense();
  const double seconds = events > 0 ? (reader.last_update_ns() - t0) / 1e9 : 0;
  const double cpu_pct = seconds > 0 ? cpu_seconds / seconds * 100 : 0;
  const double eps = seconds > 0 ? events / seconds : 0;
  std::printf("replay: revisions %llu..%llu (%lld events, dense=%s, raw_json %.1f MB) in %.3fs: "
              "%.0f events/s, %.1f MB/s; generator CPU %.1f%% of a core\n",
              static_cast<unsigned long long>(reader.first()),
              static_cast<unsigned long long>(reader.last()), static_cast<long long>(events),
              dense ? "yes" : "NO", bytes / 1e6, seconds, eps,
              seconds > 0 ? bytes / 1e6 / seconds : 0, cpu_pct);
  std::printf("RESULT label=replay events=%lld seconds=%.3f events_per_s=%.1f mb_per_s=%.3f "
              "dense=%d gen_cpu_pct=%.1f\n",
              static_cast<long long>(events), seconds, eps,
              seconds > 0 ? bytes / 1e6 / seconds : 0, dense ? 1 : 0, cpu_pct);
  return events > 0 && dense ? 0 : 1;
}

// ---- subscribers ----

// One StreamUpdates call on gRPC's callback API, kept light because the
// subscribers share the machine with the server: the call is generic (bytes
// in and out; StreamUpdates is server-streaming, so one request and a
// half-close, then reads), and each response is scanned for its
// update's record_key only. Records (sequence number, receive time) of every
// update whose record_key is "<tag>-lat-<seq>".
class Subscriber : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Subscriber(grpc::GenericStub* stub, bool stalled) : stalled_(stalled) {
    v1::StreamUpdatesRequest request;
    request.set_include_raw_json(absl::GetFlag(FLAGS_sub_raw_json));
    grpc::Slice slice(request.SerializeAsString());
    grpc::ByteBuffer bytes(&slice, 1);
    request_.Swap(&bytes);
    stub->PrepareBidiStreamingCall(&context_, "/healthwire.v1.EventStore/StreamUpdates",
                                   grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    if (!stalled_) StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ScannedUpdate update;
    if (ScanUpdate(&response_, &update, &key_)) {
      const int64_t now = NowNanos();
      received_.fetch_add(1, std::memory_order_relaxed);
      const size_t dash = key_.rfind('-');
      uint64_t seq = 0;
      if (absl::StrContains(key_, "-lat-") &&
          absl::SimpleAtoi(absl::string_view(key_).substr(dash + 1), &seq)) {
        receipts_.emplace_back(seq, now);
        lat_received_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    response_.Clear();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    status_ = status;
    cv_.notify_all();
  }
  void CancelAndWait() {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }
  int64_t received() const { return received_.load(); }
  int64_t lat_received() const { return lat_received_.load(); }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  // Only after CancelAndWait.
  const std::vector<std::pair<uint64_t, int64_t>>& receipts() const { return receipts_; }

 private:
  const bool stalled_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string key_;
  std::atomic<int64_t> received_{0}, lat_received_{0};
  std::vector<std::pair<uint64_t, int64_t>> receipts_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

struct Poster {
  std::string secret = absl::GetFlag(FLAGS_secret);
  int port = absl::GetFlag(FLAGS_http_port);
  size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  std::string tag = absl::StrCat("s", NowNanos() / 1000);

  // Posts one sleep webhook with summary_id "<tag>-<kind>-<seq>"; returns the
  // time the 2xx arrived (0 on failure).
  int64_t Post(HttpConnection* connection, const std::string& kind, int64_t seq) {
    Webhook webhook = SleepWebhook(absl::StrCat("sub-user-", seq % 16),
                                   absl::StrCat(tag, "-", kind, "-", seq), 1767225600 + seq * 60,
                                   body_bytes);
    absl::StatusOr<HttpResponse> response = connection->Post(
        "/webhooks/terra", {SignatureHeader(secret, webhook.body)}, webhook.body);
    if (!response.ok() || response->status / 100 != 2) {
      std::fprintf(stderr, "post failed: %s\n",
                   response.ok() ? response->body.c_str() : response.status().ToString().c_str());
      return 0;
    }
    return NowNanos();
  }
};

// `count` subscribers, `per_channel` to a gRPC channel; the first `stalled`
// never read.
struct SubscriberSet {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  std::vector<std::unique_ptr<Subscriber>> subs;
};

// Posts warm-up webhooks until every reading subscriber received one (so all
// streams are attached before measuring). False after ~30 s.
bool WarmUp(Poster* poster, const std::vector<std::unique_ptr<Subscriber>>& subs, int stalled) {
  HttpConnection connection(poster->port);
  for (int round = 0; round < 30; ++round) {
    if (poster->Post(&connection, "warm", round) == 0) return false;
    const absl::Time until = absl::Now() + absl::Seconds(1);
    while (absl::Now() < until) {
      bool all = true;
      for (size_t i = stalled; i < subs.size(); ++i) all = all && subs[i]->received() > 0;
      if (all) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  return false;
}

// Starts the set and posts warm-up webhooks until every reading subscriber
// has received one (all attached, so none misses the measured phase); on
// failure says so, cancels them and returns false.
bool AttachSubscribers(int count, int stalled, int per_channel, Poster* poster,
                       SubscriberSet* set) {
  set->channels = MakeChannels(std::max(1, count / per_channel));
  for (auto& ch : set->channels) set->stubs.push_back(std::make_unique<grpc::GenericStub>(ch));
  for (int i = 0; i < count; ++i) {
    set->subs.push_back(
        std::make_unique<Subscriber>(set->stubs[i % set->stubs.size()].get(), i < stalled));
  }
  if (WarmUp(poster, set->subs, stalled)) return true;
  std::fprintf(stderr, "subscribers did not attach\n");
  for (auto& s : set->subs) s->CancelAndWait();
  return false;
}

int RunSubLatency() {
  const int count = absl::GetFlag(FLAGS_subscribers);
  const int rate = absl::GetFlag(FLAGS_rate);
  const int posters = absl::GetFlag(FLAGS_post_connections);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int64_t total = static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  Poster poster;
  SubscriberSet set;
  if (!AttachSubscribers(count, /*stalled=*/0, /*per_channel=*/25, &poster, &set)) return 1;
  auto& subs = set.subs;
  std::vector<int64_t> ack_ns(total, 0), send_ns(total, 0);
  const double cpu0 = ProcessCpuSeconds();
  const int64_t start_ns = NowNanos() + 50'000'000;
  std::vector<std::thread> threads;
  for (int p = 0; p < posters; ++p) {
    threads.emplace_back([&, p] {
      HttpConnection connection(poster.port);
      for (int64_t seq = p; seq < total; seq += posters) {
        const int64_t due = start_ns + seq * 1'000'000'000LL / rate;
        const int64_t now = NowNanos();
        if (due > now) absl::SleepFor(absl::Nanoseconds(due - now));
        send_ns[seq] = NowNanos();
        ack_ns[seq] = poster.Post(&connection, "lat", seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double post_seconds = (NowNanos() - start_ns) / 1e9;
  // Generator = the 100 subscribers (gRPC, in this process) + the posters.
  const double cpu_pct = (ProcessCpuSeconds() - cpu0) / post_seconds * 100;
  // Let the last receipts arrive (bounded).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    bool all = true;
    for (auto& s : subs) all = all && s->lat_received() >= total;
    if (all) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (auto& s : subs) s->CancelAndWait();
  std::vector<int64_t> from_ack, from_send;
  from_ack.reserve(total * count);
  int64_t missing = 0, acked = 0, negative = 0;
  for (int64_t seq = 0; seq < total; ++seq) acked += ack_ns[seq] != 0;
  for (auto& s : subs) {
    missing += total - static_cast<int64_t>(s->receipts().size());
    for (const auto& [seq, recv] : s->receipts()) {
      if (seq >= static_cast<uint64_t>(total) || ack_ns[seq] == 0) continue;
      const int64_t d = recv - ack_ns[seq];
      negative += d < 0;
      from_ack.push_back(std::max<int64_t>(d, 0));
      from_send.push_back(recv - send_ns[seq]);
    }
  }
  LatencySummary a = Summarize(&from_ack);
  LatencySummary b = Summarize(&from_send);
  std::printf("sublatency: %d subscribers, %lld webhooks (%lld acked) in %.1fs (%.0f/s), "
              "missing receipts=%lld, received before the 2xx=%lld\n",
              count, static_cast<long long>(total), static_cast<long long>(acked), post_seconds,
              total / post_seconds, static_cast<long long>(missing),
              static_cast<long long>(negative));
  std::printf("  2xx -> subscriber receives (negative counted as 0): %s\n", FormatSummary(a).c_str());
  std::printf("  send -> subscriber receives:                       %s\n", FormatSummary(b).c_str());
  std::printf("  generator (subscribers + posters) CPU while posting: %.1f%% of a core\n",
              cpu_pct);
  std::printf("RESULT label=sublatency p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
              "send_p50_ms=%.3f send_p99_ms=%.3f send_max_ms=%.3f missing=%lld rate=%.1f "
              "gen_cpu_pct=%.1f\n",
              a.p50_ms, a.p90_ms, a.p99_ms, a.max_ms, b.p50_ms, b.p99_ms, b.max_ms,
              static_cast<long long>(missing), total / post_seconds, cpu_pct);
  return missing == 0 ? 0 : 1;
}

// ---- subscribers beside an ingest run ----

// S reading subscribers attach (warm-up webhooks until each received one),
// then "ATTACHED" is printed and flushed: the caller starts its ingest run
// (tools/bench/run_all.sh: wrk) and the subscribers keep reading for
// --duration. Reports updates received and this process's CPU meanwhile.
int RunSubscribe() {
  const int count = absl::GetFlag(FLAGS_subscribers);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  Poster poster;
  SubscriberSet set;
  if (!AttachSubscribers(count, /*stalled=*/0, /*per_channel=*/25, &poster, &set)) return 1;
  auto& subs = set.subs;
  int64_t received0 = 0;
  for (auto& s : subs) received0 += s->received();
  std::printf("ATTACHED subscribers=%d\n", count);
  std::fflush(stdout);
  const double cpu0 = ProcessCpuSeconds();
  const absl::Time t0 = absl::Now();
  absl::SleepFor(duration);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  const double cpu_pct = (ProcessCpuSeconds() - cpu0) / seconds * 100;
  int64_t received = -received0, ended = 0, min_received = INT64_MAX;
  for (auto& s : subs) {
    received += s->received();
    min_received = std::min(min_received, s->received());
    ended += s->done();
  }
  for (auto& s : subs) s->CancelAndWait();
  std::printf("subscribe: %d subscribers, %lld updates received in %.1fs (%.0f/s in all, fewest "
              "by one subscriber %lld), %lld streams ended early; CPU %.1f%% of a core\n",
              count, static_cast<long long>(received), seconds, received / seconds,
              static_cast<long long>(min_received), static_cast<long long>(ended), cpu_pct);
  std::printf("RESULT label=subscribe subscribers=%d received=%lld updates_per_s=%.1f "
              "min_received=%lld ended=%lld gen_cpu_pct=%.1f\n",
              count, static_cast<long long>(received), received / seconds,
              static_cast<long long>(min_received), static_cast<long long>(ended), cpu_pct);
  return ended == 0 ? 0 : 1;
}

// ---- memory ----

struct Rss {
  int64_t rss_kb = 0, hwm_kb = 0;
};
Rss ReadRss(int pid) {
  Rss r;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char* key, int64_t* out) {
      if (absl::StartsWith(line, key)) {
        std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
        if (parts.size() >= 2) (void)absl::SimpleAtoi(parts[1], out);
      }
    };
    value("VmRSS:", &r.rss_kb);
    value("VmHWM:", &r.hwm_kb);
  }
  return r;
}

int RunMemory() {
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int count = absl::GetFlag(FLAGS_subscribers);
  const int stalled = absl::GetFlag(FLAGS_stalled);
  const int events = absl::GetFlag(FLAGS_events);
  const int posters = absl::GetFlag(FLAGS_post_connections);
  if (pid <= 0) {
    std::fprintf(stderr, "--server_pid is required\n");
    return 2;
  }
  const Rss before = ReadRss(pid);
  Poster poster;
  SubscriberSet set;
  if (!AttachSubscribers(count, stalled, /*per_channel=*/50, &poster, &set)) return 1;
  auto& subs = set.subs;
  const Rss attached = ReadRss(pid);
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> peak_kb{attached.rss_kb};
  std::thread sampler([&] {
    while (sampling.load()) {
      const int64_t kb = ReadRss(pid).rss_kb;
      int64_t prev = peak_kb.load();
      while (kb > prev && !peak_kb.compare_exchange_weak(prev, kb)) {
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  const double cpu0 = ProcessCpuSeconds();
  const absl::Time t0 = absl::Now();
  std::atomic<int64_t> next{0}, failed{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < posters; ++p) {
    threads.emplace_back([&] {
      HttpConnection connection(poster.port);
      for (int64_t seq; (seq = next.fetch_add(1)) < events;) {
        if (poster.Post(&connection, "lat", seq) == 0) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double post_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  const absl::Time give_up = absl::Now() + absl::Seconds(240);
  int64_t behind = 0;
  while (absl::Now() < give_up) {
    behind = 0;
    for (size_t i = stalled; i < subs.size(); ++i) behind += subs[i]->lat_received() < events;
    if (behind == 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(200));
  const double cpu_pct =
      (ProcessCpuSeconds() - cpu0) / absl::ToDoubleSeconds(absl::Now() - t0) * 100;
  const Rss after = ReadRss(pid);
  sampling = false;
  sampler.join();
  for (auto& s : subs) s->CancelAndWait();
  const Rss end = ReadRss(pid);
  std::printf("memory: %d subscribers (%d stalled), %d webhooks posted in %.1fs (%lld failed); "
              "%lld reading subscribers not complete\n",
              count, stalled, events, post_seconds, static_cast<long long>(failed.load()),
              static_cast<long long>(behind));
  std::printf("  server VmRSS: before %.1f MB, subscribers attached %.1f MB, peak %.1f MB, "
              "after all delivered %.1f MB, after cancel %.1f MB (VmHWM %.1f MB)\n",
              before.rss_kb / 1024.0, attached.rss_kb / 1024.0, peak_kb.load() / 1024.0,
              after.rss_kb / 1024.0, end.rss_kb / 1024.0, end.hwm_kb / 1024.0);
  std::printf("RESULT label=memory before_mb=%.1f attached_mb=%.1f peak_mb=%.1f after_mb=%.1f "
              "hwm_mb=%.1f behind=%lld failed=%lld gen_cpu_pct=%.1f\n",
              before.rss_kb / 1024.0, attached.rss_kb / 1024.0, peak_kb.load() / 1024.0,
              after.rss_kb / 1024.0, end.hwm_kb / 1024.0, static_cast<long long>(behind),
              static_cast<long long>(failed.load()), cpu_pct);
  return behind == 0 && failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  healthwire::ParseFlagsWithVersion(argc, argv, "grpc_load");
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (gRPC's
  // included) keeps a deadlock graph: GraphCycles was ~3% of this client's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "getlatest") return healthwire::bench::RunGetLatest();
  if (mode == "replay") return healthwire::bench::RunReplay();
  if (mode == "sublatency") return healthwire::bench::RunSubLatency();
  if (mode == "memory") return healthwire::bench::RunMemory();
  if (mode == "subscribe") return healthwire::bench::RunSubscribe();
  std::fprintf(stderr, "unknown --mode=%s\n", mode.c_str());
  return 2;
}
