#include "tools/simulator/webhook_bodies.h"

#include <cstdlib>
#include <iostream>

#include "google/protobuf/util/json_util.h"

namespace healthwire {
namespace simulator {

SleepWebhookBuilder::SleepWebhookBuilder(const std::string& user_id,
                                         const std::string& summary_id) {
  webhook_.set_type("sleep");
  webhook_.set_version("2022-03-16");
  webhook_.mutable_user()->set_user_id(user_id);
  webhook_.mutable_user()->set_provider("OURA");
  terra::SleepMetadata* metadata = webhook_.add_data()->mutable_metadata();
  metadata->set_summary_id(summary_id);
  metadata->set_start_time("2026-07-01T23:10:00.000000+01:00");
  metadata->set_end_time("2026-07-02T07:00:00.000000+01:00");
}

SleepWebhookBuilder& SleepWebhookBuilder::Provider(const std::string& provider) {
  webhook_.mutable_user()->set_provider(provider);
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::ReferenceId(const std::string& reference_id) {
  webhook_.mutable_user()->set_reference_id(reference_id);
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::StartTime(const std::string& start_time) {
  webhook_.mutable_data(0)->mutable_metadata()->set_start_time(start_time);
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::EndTime(const std::string& end_time) {
  webhook_.mutable_data(0)->mutable_metadata()->set_end_time(end_time);
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::UploadType(int upload_type) {
  webhook_.mutable_data(0)->mutable_metadata()->set_upload_type(
      static_cast<terra::SleepUploadType>(upload_type));
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::SleepScore(double sleep_score) {
  webhook_.mutable_data(0)->mutable_data_enrichment()->set_sleep_score(sleep_score);
  return *this;
}

SleepWebhookBuilder& SleepWebhookBuilder::IsNap(bool is_nap) {
  webhook_.mutable_data(0)->mutable_metadata()->set_is_nap(is_nap);
  return *this;
}

namespace {

std::string PrintJson(const google::protobuf::Message& webhook) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // Terra's keys
  options.always_print_enums_as_ints = true;  // Terra sends enums as integers
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(webhook, &json, options);
  if (!status.ok()) {
    std::cerr << "webhook_bodies: cannot print JSON: " << status.ToString() << "\n";
    std::abort();
  }
  return json;
}

}  // namespace

std::string S3PayloadWebhookJson(const std::string& url, int expires_in) {
  S3PayloadWebhook webhook;
  webhook.set_type("s3_payload");
  webhook.set_status("success");
  webhook.set_url(url);
  webhook.set_expires_in(expires_in);
  webhook.set_version("2022-03-16");
  return PrintJson(webhook);
}

std::string LargeRequestWebhookJson(const std::string& type, const std::string& user_id,
                                    const std::string& reference, int expected_payloads) {
  LargeRequestWebhook webhook;
  webhook.set_type(type);
  webhook.set_status("success");
  webhook.set_message(type == "large_request_sending" ? "Large request is being sent"
                                                      : "Large request is being processed");
  webhook.set_reference(reference);
  if (expected_payloads >= 0) webhook.set_expected_payloads(expected_payloads);
  webhook.set_version("2022-03-16");
  webhook.mutable_user()->set_user_id(user_id);
  webhook.mutable_user()->set_provider("GARMIN");
  return PrintJson(webhook);
}

std::string SleepWebhookBuilder::Json() const {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // Terra's keys
  options.always_print_enums_as_ints = true;  // Terra sends enums as integers
  std::string json;
  // No maps are set, so the printer's output is deterministic.
  const auto status = google::protobuf::util::MessageToJsonString(webhook_, &json, options);
  if (!status.ok()) {
    // Only a bug here (the message is always printable) gets this far.
    std::cerr << "SleepWebhookBuilder: cannot print JSON: " << status.ToString() << "\n";
    std::abort();
  }
  return json;
}

}  // namespace simulator
}  // namespace healthwire
