// Hand-specified Terra webhook bodies: one record with exactly the ids and
// values a test names (a given summary_id, score or start time), where
// terra_payloads.h generates whole realistic ones.
//
// Like terra_payloads.h, bodies are printed by protobuf's JSON printer from
// the typed messages (terra_webhooks.proto; field names as in terra.proto,
// enums as integers), never concatenated by hand, so they are valid Terra
// JSON that healthwire's converter reads without conversion problems.
// Fields a test leaves unset are left out of the body.
//
// Usage:
//   std::string body = SleepWebhookBuilder("user-1", "s-1").SleepScore(77).Json();
//
// A builder is a value; not thread-safe to modify from several threads.
#ifndef HEALTHWIRE_TOOLS_SIMULATOR_WEBHOOK_BODIES_H_
#define HEALTHWIRE_TOOLS_SIMULATOR_WEBHOOK_BODIES_H_

#include <string>

#include "tools/simulator/terra_webhooks.pb.h"

namespace healthwire {
namespace simulator {

// A "sleep" webhook with one record.
class SleepWebhookBuilder {
 public:
  // Defaults: provider OURA, version 2022-03-16, the night of 2026-07-01
  // (23:10 to 07:00, +01:00), no reference id, no score, no upload type.
  SleepWebhookBuilder(const std::string& user_id, const std::string& summary_id);

  SleepWebhookBuilder& Provider(const std::string& provider);
  SleepWebhookBuilder& ReferenceId(const std::string& reference_id);
  // ISO-8601 with microseconds and offset, as Terra sends them.
  SleepWebhookBuilder& StartTime(const std::string& start_time);
  SleepWebhookBuilder& EndTime(const std::string& end_time);
  // terra.SleepUploadType as its integer (2: automatic).
  SleepWebhookBuilder& UploadType(int upload_type);
  SleepWebhookBuilder& SleepScore(double sleep_score);
  SleepWebhookBuilder& IsNap(bool is_nap);

  // The body, exactly as it is to be sent.
  std::string Json() const;

 private:
  SleepWebhook webhook_;
};

// An `s3_payload` ping: the webhook body is at `url` for `expires_in` s.
std::string S3PayloadWebhookJson(const std::string& url, int expires_in);

// `large_request_processing` (expected_payloads < 0: left out) or
// `large_request_sending` of a backfill with `reference`, for `user_id`
// (provider GARMIN).
std::string LargeRequestWebhookJson(const std::string& type, const std::string& user_id,
                                    const std::string& reference, int expected_payloads);

}  // namespace simulator
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_SIMULATOR_WEBHOOK_BODIES_H_
