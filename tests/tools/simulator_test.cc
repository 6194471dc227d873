// The Terra payload simulator (tools/simulator): its bodies must be what
// Terra would send, as healthwire's own converter and signature verifier see
// them.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.pb.h"
#include "server/convert/record_key.h"
#include "server/convert/terra_converter.h"
#include "server/webhook/signature_verifier.h"
#include "tools/simulator/terra_payloads.h"

namespace healthwire {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::healthwire::simulator::GenerateWebhooks;
using ::healthwire::simulator::PayloadType;
using ::healthwire::simulator::SimulatedWebhook;
using ::healthwire::simulator::SimulationOptions;

// 2026-07-01T07:00:00Z; at +01:00 that is 08:00 on 2026-07-01.
const absl::Time kNow = absl::FromUnixSeconds(1782889200);

SimulationOptions OptionsFor(PayloadType type, int count = 3, int samples = 5) {
  SimulationOptions options;
  options.type = type;
  options.user_id = "sim-user";
  options.reference_id = "sim-person";
  options.record_count = count;
  options.samples_per_array = samples;
  options.seed = 42;
  options.now = kNow;
  options.utc_offset_minutes = 60;
  return options;
}

std::vector<SimulatedWebhook> Generate(const SimulationOptions& options) {
  absl::StatusOr<std::vector<SimulatedWebhook>> webhooks = GenerateWebhooks(options);
  EXPECT_TRUE(webhooks.ok()) << webhooks.status();
  return webhooks.ok() ? *std::move(webhooks) : std::vector<SimulatedWebhook>{};
}

// Every event of every webhook, as the converter makes them.
std::vector<v1::Event> ConvertAll(const std::vector<SimulatedWebhook>& webhooks) {
  std::vector<v1::Event> events;
  for (const SimulatedWebhook& webhook : webhooks) {
    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(webhook.body, {});
    EXPECT_TRUE(converted.ok()) << converted.status() << "\n" << webhook.body;
    if (!converted.ok()) continue;
    for (v1::Event& event : converted->events) events.push_back(std::move(event));
  }
  return events;
}

v1::EventType ExpectedEventType(PayloadType type) {
  switch (type) {
    case PayloadType::kActivity:
      return v1::EVENT_TYPE_ACTIVITY;
    case PayloadType::kSleep:
      return v1::EVENT_TYPE_SLEEP;
    case PayloadType::kBody:
      return v1::EVENT_TYPE_BODY;
    case PayloadType::kDaily:
      return v1::EVENT_TYPE_DAILY;
    case PayloadType::kNutrition:
      return v1::EVENT_TYPE_NUTRITION;
    case PayloadType::kMenstruation:
      return v1::EVENT_TYPE_MENSTRUATION;
    case PayloadType::kAthlete:
      return v1::EVENT_TYPE_ATHLETE;
    case PayloadType::kAuth:
      return v1::EVENT_TYPE_AUTH;
    case PayloadType::kDeauth:
      return v1::EVENT_TYPE_DEAUTH;
  }
  return v1::EVENT_TYPE_UNSPECIFIED;
}

// The typed payload of a converted event (nullptr when none is set).
const Message* PayloadOf(const v1::Event& event) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::Event::descriptor()->FindOneofByName("payload");
  const FieldDescriptor* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  if (field == nullptr) return nullptr;
  return &event.GetReflection()->GetMessage(event, field);
}

bool IsSampleArray(const FieldDescriptor& field) {
  const std::string& name = field.name();
  const std::string suffix = "samples";
  return (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) ||
         name == "menstruation_flow" || name == "measurements";
}

// Sizes of every present sample array in `message`, by path.
void CollectSampleArraySizes(const Message& message, const std::string& path,
                             std::vector<std::pair<std::string, int>>* sizes) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_map()) continue;
    const std::string field_path = path.empty() ? field->name() : path + "." + field->name();
    if (!field->is_repeated()) {
      CollectSampleArraySizes(message.GetReflection()->GetMessage(message, field), field_path,
                              sizes);
      continue;
    }
    const int size = message.GetReflection()->FieldSize(message, field);
    if (IsSampleArray(*field)) sizes->emplace_back(field_path, size);
  }
}

class EveryTypeTest : public ::testing::TestWithParam<PayloadType> {};

INSTANTIATE_TEST_SUITE_P(Simulator, EveryTypeTest,
                         ::testing::ValuesIn(simulator::AllPayloadTypes()),
                         [](const ::testing::TestParamInfo<PayloadType>& info) {
                           return std::string(simulator::TerraTypeName(info.param));
                         });

TEST_P(EveryTypeTest, ConvertsWithZeroConversionProblems) {
  const std::vector<v1::Event> events = ConvertAll(Generate(OptionsFor(GetParam())));
  ASSERT_EQ(events.size(), 3u);
  for (const v1::Event& event : events) {
    EXPECT_EQ(event.conversion_problems_size(), 0) << event.DebugString();
    EXPECT_NE(PayloadOf(event), nullptr) << "no typed payload: " << event.DebugString();
  }
}

TEST_P(EveryTypeTest, ConvertsToTheExpectedEventTypeAndUser) {
  const std::vector<v1::Event> events = ConvertAll(Generate(OptionsFor(GetParam())));
  ASSERT_EQ(events.size(), 3u);
  for (const v1::Event& event : events) {
    EXPECT_EQ(event.type(), ExpectedEventType(GetParam()));
    EXPECT_EQ(event.terra_type(), simulator::TerraTypeName(GetParam()));
    EXPECT_EQ(event.user().user_id(), "sim-user");
    EXPECT_EQ(event.user().reference_id(), "sim-person");
    EXPECT_EQ(event.user().provider(), "GARMIN");
  }
}

TEST_P(EveryTypeTest, SignedBodyPassesSignatureVerification) {
  absl::StatusOr<SignatureVerifier> verifier = SignatureVerifier::Create({"s3cret"});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const absl::Time now = absl::Now();
  for (const SimulatedWebhook& webhook : Generate(OptionsFor(GetParam()))) {
    const std::string header =
        SignatureVerifier::Sign("s3cret", absl::ToUnixSeconds(now), webhook.body);
    EXPECT_TRUE(verifier->Verify(header, webhook.body, now).ok());
  }
}

TEST_P(EveryTypeTest, SameSeedGivesTheSameBytes) {
  const std::vector<SimulatedWebhook> first = Generate(OptionsFor(GetParam()));
  const std::vector<SimulatedWebhook> second = Generate(OptionsFor(GetParam()));
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].body, second[i].body);
}

TEST_P(EveryTypeTest, EveryEventBodyDiffersFromTheOthers) {
  std::set<std::string> bodies;
  for (const SimulatedWebhook& webhook : Generate(OptionsFor(GetParam(), 10))) {
    bodies.insert(webhook.body);
  }
  EXPECT_EQ(bodies.size(), 10u);
}

class DataTypeTest : public ::testing::TestWithParam<PayloadType> {};

INSTANTIATE_TEST_SUITE_P(Simulator, DataTypeTest,
                         ::testing::Values(PayloadType::kActivity, PayloadType::kSleep,
                                           PayloadType::kBody, PayloadType::kDaily,
                                           PayloadType::kNutrition, PayloadType::kMenstruation),
                         [](const ::testing::TestParamInfo<PayloadType>& info) {
                           return std::string(simulator::TerraTypeName(info.param));
                         });

TEST_P(DataTypeTest, SamplesOptionSizesEverySampleArray) {
  for (const v1::Event& event : ConvertAll(Generate(OptionsFor(GetParam(), 2, 7)))) {
    const Message* payload = PayloadOf(event);
    ASSERT_NE(payload, nullptr);
    std::vector<std::pair<std::string, int>> sizes;
    CollectSampleArraySizes(*payload, "", &sizes);
    EXPECT_FALSE(sizes.empty()) << "no sample arrays in " << event.DebugString();
    for (const auto& [path, size] : sizes) EXPECT_EQ(size, 7) << path;
  }
}

TEST_P(DataTypeTest, ZeroSamplesLeavesSampleArraysOut) {
  for (const v1::Event& event : ConvertAll(Generate(OptionsFor(GetParam(), 2, 0)))) {
    const Message* payload = PayloadOf(event);
    ASSERT_NE(payload, nullptr);
    std::vector<std::pair<std::string, int>> sizes;
    CollectSampleArraySizes(*payload, "", &sizes);
    for (const auto& [path, size] : sizes) EXPECT_EQ(size, 0) << path;
    EXPECT_EQ(event.conversion_problems_size(), 0);
  }
}

TEST_P(DataTypeTest, TimestampsHaveMicrosecondsAndTheUsersOffset) {
  SimulationOptions options = OptionsFor(GetParam());
  options.utc_offset_minutes = -300;
  const std::regex terra_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}-05:00)");
  for (const v1::Event& event : ConvertAll(Generate(options))) {
    EXPECT_TRUE(std::regex_match(event.start_time(), terra_time)) << event.start_time();
  }
}

// Every "timestamp", "measurement_time", "start_time" and "end_time" string in
// `message`, by path.
void CollectObservationTimes(const Message& message, const std::string& path,
                             std::vector<std::pair<std::string, std::string>>* times) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string field_path = path.empty() ? field->name() : path + "." + field->name();
    const std::string& name = field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !field->is_repeated() &&
        (name == "timestamp" || name == "measurement_time" || name == "start_time" ||
         name == "end_time" || name == "last_updated_time")) {
      times->emplace_back(field_path, message.GetReflection()->GetString(message, field));
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_map()) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < message.GetReflection()->FieldSize(message, field); ++i) {
        CollectObservationTimes(message.GetReflection()->GetRepeatedMessage(message, field, i),
                                absl::StrCat(field_path, "[", i, "]"), times);
      }
    } else {
      CollectObservationTimes(message.GetReflection()->GetMessage(message, field), field_path,
                              times);
    }
  }
}

// Local times (+01:00) across the day: 00:30, 08:00, 09:40, 12:00, 20:50, 23:59.
std::vector<absl::Time> NowsAcrossTheDay() {
  const absl::TimeZone zone = absl::FixedTimeZone(3600);
  std::vector<absl::Time> nows;
  for (const auto& [hour, minute] :
       std::vector<std::pair<int, int>>{{0, 30}, {8, 0}, {9, 40}, {12, 0}, {20, 50}, {23, 59}}) {
    nows.push_back(absl::FromCivil(absl::CivilMinute(2026, 7, 1, hour, minute), zone));
  }
  return nows;
}

TEST_P(DataTypeTest, NothingObservedLiesInTheFuture) {
  for (absl::Time now : NowsAcrossTheDay()) {
    SimulationOptions options = OptionsFor(GetParam(), 2, 6);
    options.now = now;
    for (const v1::Event& event : ConvertAll(Generate(options))) {
      std::vector<std::pair<std::string, std::string>> times;
      CollectObservationTimes(*PayloadOf(event), "", &times);
      EXPECT_FALSE(times.empty());
      for (const auto& [path, text] : times) {
        absl::Time time;
        std::string error;
        ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &time, &error)) << text << error;
        EXPECT_LE(time, now) << path << " = " << text;
      }
    }
  }
}

TEST_P(DataTypeTest, RecordsPerWebhookBatchesRecords) {
  SimulationOptions options = OptionsFor(GetParam(), 5);
  options.records_per_webhook = 2;
  const std::vector<SimulatedWebhook> webhooks = Generate(options);
  ASSERT_EQ(webhooks.size(), 3u);
  std::vector<int> events_per_webhook;
  for (const SimulatedWebhook& webhook : webhooks) {
    events_per_webhook.push_back(static_cast<int>(ConvertAll({webhook}).size()));
  }
  EXPECT_EQ(events_per_webhook, (std::vector<int>{2, 2, 1}));
}

TEST(SimulatorTest, SleepAndActivityAreKeyedByUniqueSummaryIds) {
  for (PayloadType type : {PayloadType::kSleep, PayloadType::kActivity}) {
    std::set<std::string> keys;
    const std::vector<v1::Event> events = ConvertAll(Generate(OptionsFor(type, 60, 2)));
    for (const v1::Event& event : events) {
      const std::string summary_id = type == PayloadType::kSleep
                                         ? event.sleep().metadata().summary_id()
                                         : event.activity().metadata().summary_id();
      EXPECT_EQ(event.record_key(), summary_id);
      keys.insert(event.record_key());
    }
    EXPECT_EQ(keys.size(), 60u) << simulator::TerraTypeName(type);
  }
}

TEST(SimulatorTest, SleepsAndWorkoutsNeverOverlapAndEndBeforeNow) {
  for (PayloadType type : {PayloadType::kSleep, PayloadType::kActivity}) {
    for (absl::Time now : NowsAcrossTheDay()) {
      SimulationOptions options = OptionsFor(type, 6, 0);
      options.now = now;
      std::vector<std::pair<absl::Time, absl::Time>> spans;
      for (const v1::Event& event : ConvertAll(Generate(options))) {
        const auto& metadata = type == PayloadType::kSleep
                                   ? event.sleep().metadata().start_time()
                                   : event.activity().metadata().start_time();
        const auto& end_text = type == PayloadType::kSleep ? event.sleep().metadata().end_time()
                                                           : event.activity().metadata().end_time();
        absl::Time start, end;
        std::string error;
        ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, metadata, &start, &error));
        ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, end_text, &end, &error));
        spans.emplace_back(start, end);
      }
      ASSERT_EQ(spans.size(), 6u);
      std::sort(spans.begin(), spans.end());
      EXPECT_LE(spans.back().second, now);
      for (size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first);
      // One per day: six records span at most six days.
      EXPECT_LT(spans.back().first - spans.front().first, absl::Hours(6 * 24));
    }
  }
}

TEST(SimulatorTest, DailyTypesAreKeyedBySuccessiveDaysBackFromToday) {
  for (PayloadType type : {PayloadType::kBody, PayloadType::kDaily, PayloadType::kNutrition,
                           PayloadType::kMenstruation}) {
    std::vector<std::string> keys;
    for (const v1::Event& event : ConvertAll(Generate(OptionsFor(type, 3)))) {
      keys.push_back(event.record_key());
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"2026-07-01", "2026-06-30", "2026-06-29"}))
        << simulator::TerraTypeName(type);
  }
}

TEST(SimulatorTest, AthleteIsKeyedAsTheOneAthleteRecord) {
  for (const v1::Event& event : ConvertAll(Generate(OptionsFor(PayloadType::kAthlete, 1)))) {
    EXPECT_EQ(event.record_key(), kAthleteRecordKey);
    EXPECT_FALSE(event.athlete().first_name().empty());
  }
}

TEST(SimulatorTest, ConnectionEventsAreKeyedByTheirContent) {
  for (PayloadType type : {PayloadType::kAuth, PayloadType::kDeauth}) {
    const std::vector<SimulatedWebhook> webhooks = Generate(OptionsFor(type, 1));
    ASSERT_EQ(webhooks.size(), 1u);
    const std::vector<v1::Event> events = ConvertAll(webhooks);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].record_key(), ContentHashKey(webhooks[0].body));
    EXPECT_EQ(events[0].connection().status(), "success");
  }
}

TEST(SimulatorTest, EnumsArePrintedAsIntegersAndKeysAsTerraSpellsThem) {
  const std::vector<SimulatedWebhook> webhooks = Generate(OptionsFor(PayloadType::kSleep, 1));
  ASSERT_EQ(webhooks.size(), 1u);
  const std::string& body = webhooks[0].body;
  EXPECT_NE(body.find(R"("upload_type":2)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("duration_REM_sleep_state_seconds":)"), std::string::npos) << body;
  EXPECT_EQ(body.rfind(R"({"type":"sleep","version":"2022-03-16","user":{)", 0), 0u) << body;
}

TEST(SimulatorTest, WithoutAUserIdTheUserIdIsAUuidFromTheSeed) {
  SimulationOptions options = OptionsFor(PayloadType::kSleep, 1);
  options.user_id.clear();
  const std::vector<v1::Event> first = ConvertAll(Generate(options));
  const std::vector<v1::Event> again = ConvertAll(Generate(options));
  options.seed = 43;
  const std::vector<v1::Event> other_seed = ConvertAll(Generate(options));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(other_seed.size(), 1u);
  EXPECT_TRUE(std::regex_match(
      first[0].user().user_id(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << first[0].user().user_id();
  EXPECT_EQ(first[0].user().user_id(), again[0].user().user_id());
  EXPECT_NE(first[0].user().user_id(), other_seed[0].user().user_id());
}

TEST(SimulatorTest, NegativeCountIsInvalidArgument) {
  SimulationOptions options = OptionsFor(PayloadType::kSleep);
  options.record_count = -1;
  EXPECT_EQ(GenerateWebhooks(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SimulatorTest, ZeroRecordsPerWebhookIsInvalidArgument) {
  SimulationOptions options = OptionsFor(PayloadType::kSleep);
  options.records_per_webhook = 0;
  EXPECT_EQ(GenerateWebhooks(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SimulatorTest, ParsePayloadTypeRejectsUnknownNamesListingTheValidOnes) {
  absl::StatusOr<PayloadType> parsed = simulator::ParsePayloadType("slep");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("sleep"), absl::string_view::npos);
  EXPECT_EQ(*simulator::ParsePayloadType("menstruation"), PayloadType::kMenstruation);
}

}  // namespace
}  // namespace healthwire
