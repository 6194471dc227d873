// Specification of ConvertTerraWebhook (server/convert/terra_converter.h) and of the
// record-key rules (server/convert/record_key.h). Realistic payloads live in
// tests/testdata/<type>.json; edge cases are written inline.
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/convert/record_key.h"
#include "server/convert/terra_converter.h"
#include "tests/util/test_files.h"

namespace healthwire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::string_view kUserId = "8b3a1c5e-2f47-4d9a-9c61-3e0b7f2a4d18";

DeliveryContext TestContext() {
  DeliveryContext context;
  context.received_at = absl::FromUnixSeconds(1782896400) + absl::Milliseconds(250);
  context.ordering_timestamp_ms = 1782896399871;
  context.trace_id = "4c1e7a90-3d2b-4f6e-8a15-b09d2c7e6f31";
  return context;
}

// Bazel runs tests with the runfiles workspace root as the working directory.
std::string ReadTestdata(absl::string_view name) {
  return testing::ReadTestFile(absl::StrCat("tests/testdata/", name));
}

ConvertedWebhook ConvertOk(absl::string_view body) {
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, TestContext());
  EXPECT_TRUE(converted.ok()) << converted.status();
  return converted.ok() ? *std::move(converted) : ConvertedWebhook{};
}

absl::Status ConvertError(absl::string_view body) {
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, TestContext());
  EXPECT_FALSE(converted.ok()) << "converted to " << (converted.ok() ? converted->events.size() : 0)
                               << " events";
  return converted.status();
}

// A data event of `type` for kUserId whose `data` array holds `records`.
std::string DataBody(absl::string_view type, absl::string_view records) {
  return absl::StrCat(R"({"type":")", type, R"(","user":{"user_id":")", kUserId,
                      R"(","provider":"GARMIN"},"data":[)", records, "]}");
}

// raw_json must be the record's bytes exactly as received: a slice of the
// body that is one JSON object.
void ExpectRawJsonIsSliceOfBody(const v1::Event& event, absl::string_view body) {
  EXPECT_TRUE(absl::StrContains(body, event.raw_json()));
  ASSERT_FALSE(event.raw_json().empty());
  EXPECT_EQ(event.raw_json().front(), '{');
  EXPECT_EQ(event.raw_json().back(), '}');
}

std::vector<std::string> ProblemPaths(const v1::Event& event) {
  std::vector<std::string> paths;
  for (const v1::ConversionProblem& problem : event.conversion_problems()) {
    paths.push_back(problem.field_path());
  }
  return paths;
}

// ---------------------------------------------------------------------------
// Data events.

TEST(ConverterTest, ActivityGivesOneEventPerRecordKeyedBySummaryId) {
  const std::string body = ReadTestdata("activity.json");
  ConvertedWebhook converted = ConvertOk(body);
  EXPECT_EQ(converted.terra_type, "activity");
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].type(), v1::EVENT_TYPE_ACTIVITY);
  EXPECT_EQ(converted.events[0].record_key(), "11940522617-activity");
  EXPECT_EQ(converted.events[1].record_key(), "11940522618-activity");
  EXPECT_EQ(converted.events_with_problems, 0);
}

TEST(ConverterTest, ActivityTypedFieldsKeepTerraValues) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("activity.json"));
  ASSERT_THAT(converted.events, SizeIs(2));
  ASSERT_TRUE(converted.events[0].has_activity());
  const terra::Activity& activity = converted.events[0].activity();
  EXPECT_EQ(activity.metadata().type(), terra::ACTIVITY_TYPE_RUNNING);
  EXPECT_EQ(activity.metadata().upload_type(), terra::UPLOAD_TYPE_AUTOMATIC);
  EXPECT_EQ(activity.metadata().name(), "Morning Run");
  EXPECT_FALSE(activity.metadata().has_state());  // null in the payload
  EXPECT_DOUBLE_EQ(activity.calories_data().bmr_calories(), 1673);
  EXPECT_DOUBLE_EQ(activity.met_data().avg_level(), 9.4);
  ASSERT_THAT(activity.met_data().met_samples(), SizeIs(2));
  EXPECT_DOUBLE_EQ(activity.met_data().met_samples(1).level(), 9.9);
  EXPECT_EQ(activity.distance_data().summary().steps(), 7311);
  ASSERT_THAT(activity.heart_rate_data().detailed().hr_samples(), SizeIs(2));
  EXPECT_EQ(activity.heart_rate_data().detailed().hr_samples(0).context(),
            terra::HEART_RATE_CONTEXT_ACTIVE);
  EXPECT_THAT(activity.position_data().start_pos_lat_lng_deg(), ElementsAre(51.50135, -0.14189));
  EXPECT_THAT(activity.device_data().data_provided(),
              ElementsAre("STEPS", "HEART_RATE", "DISTANCE", "CALORIES"));
  EXPECT_DOUBLE_EQ(activity.data_enrichment().strain_contributors().at("heart_rate"), 0.71);
  EXPECT_TRUE(activity.has_cheat_detection());  // 0 is a value, not "absent"
  EXPECT_EQ(converted.events[1].activity().metadata().type(), terra::ACTIVITY_TYPE_WALKING);
  EXPECT_EQ(converted.events[1].activity().metadata().upload_type(), terra::UPLOAD_TYPE_MANUAL);
}

TEST(ConverterTest, ActivityStartTimeIsMetadataStartTimeAsReceived) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("activity.json"));
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].start_time(), "2026-07-01T07:04:11.000000+01:00");
  EXPECT_EQ(converted.events[1].start_time(), "2026-07-01T19:31:02.000000+01:00");
}

TEST(ConverterTest, ActivityRawJsonIsEachRecordsExactBytes) {
  const std::string body = ReadTestdata("activity.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(2));
  for (const v1::Event& event : converted.events) ExpectRawJsonIsSliceOfBody(event, body);
  // The two records with the file's separator between them are the file's
  // `data` content: nothing was added, dropped or re-serialized.
  EXPECT_TRUE(absl::StrContains(body, absl::StrCat(converted.events[0].raw_json(), ",\n    ",
                                                   converted.events[1].raw_json(), "\n  ]\n}")));
  EXPECT_TRUE(absl::EndsWith(converted.events[0].raw_json(), "\"cheat_detection\": 0\n    }"));
}

TEST(ConverterTest, EventEnvelopeCarriesUserAndDeliveryContext) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("activity.json"));
  ASSERT_THAT(converted.events, SizeIs(2));
  for (const v1::Event& event : converted.events) {
    EXPECT_EQ(event.revision(), 0u);
    EXPECT_EQ(event.terra_type(), "activity");
    EXPECT_EQ(event.user().user_id(), kUserId);
    EXPECT_EQ(event.user().provider(), "GARMIN");
    EXPECT_EQ(event.user().reference_id(), "patient-20417");
    EXPECT_EQ(event.user().scopes(), "activity,sleep,body,daily");
    EXPECT_TRUE(event.user().active());
    EXPECT_EQ(event.received_at().seconds(), 1782896400);
    EXPECT_EQ(event.received_at().nanos(), 250000000);
    ASSERT_TRUE(event.has_ordering_timestamp_ms());
    EXPECT_EQ(event.ordering_timestamp_ms(), 1782896399871);
    EXPECT_EQ(event.trace_id(), "4c1e7a90-3d2b-4f6e-8a15-b09d2c7e6f31");
  }
}

TEST(ConverterTest, OrderingTimestampIsAbsentWhenTheDeliveryHasNone) {
  DeliveryContext context;
  absl::StatusOr<ConvertedWebhook> converted =
      ConvertTerraWebhook(ReadTestdata("sleep.json"), context);
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_THAT(converted->events, SizeIs(1));
  EXPECT_FALSE(converted->events[0].has_ordering_timestamp_ms());
  EXPECT_EQ(converted->events[0].trace_id(), "");
}

TEST(ConverterTest, SleepIsKeyedBySummaryIdWithTypedDurations) {
  const std::string body = ReadTestdata("sleep.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_SLEEP);
  EXPECT_EQ(event.record_key(), "a6c1d7e2-0f3b-4b9d-91c8-52e4f0a7b6d1");
  EXPECT_EQ(event.start_time(), "2026-07-01T23:12:30.000000+02:00");
  ASSERT_TRUE(event.has_sleep());
  const terra::Sleep& sleep = event.sleep();
  EXPECT_DOUBLE_EQ(sleep.sleep_durations_data().asleep().duration_rem_sleep_state_seconds(), 6180);
  EXPECT_EQ(sleep.sleep_durations_data().asleep().num_rem_events(), 5);
  // Sleep numbers upload types differently from activity: 2 = automatic.
  EXPECT_EQ(sleep.metadata().upload_type(), terra::SLEEP_UPLOAD_TYPE_AUTOMATIC);
  EXPECT_EQ(sleep.metadata().timestamp_localization(), terra::TIMESTAMP_LOCALIZATION_LOCAL);
  ASSERT_THAT(sleep.sleep_durations_data().hypnogram_samples(), SizeIs(4));
  EXPECT_EQ(sleep.sleep_durations_data().hypnogram_samples(3).level(),
            terra::SLEEP_LEVEL_REM_SLEEP);
  EXPECT_FALSE(sleep.sleep_durations_data().awake().has_wake_up_latency_seconds());
  EXPECT_DOUBLE_EQ(sleep.respiration_data().breaths_data().avg_breaths_per_min(), 14.25);
  EXPECT_EQ(event.user().provider(), "OURA");
  ExpectRawJsonIsSliceOfBody(event, body);
}

TEST(ConverterTest, SleepWithoutSummaryIdIsKeyedByStartTime) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("sleep_without_summary_id.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].record_key(), "2026-07-01T22:48:00.000000+01:00");
  EXPECT_DOUBLE_EQ(converted.events[0]
                       .sleep()
                       .sleep_durations_data()
                       .asleep()
                       .duration_rem_sleep_state_seconds(),
                   6120);
}

TEST(ConverterTest, SleepWithEmptyOrNullSummaryIdIsKeyedByStartTime) {
  ConvertedWebhook converted = ConvertOk(DataBody(
      "sleep",
      R"({"metadata":{"summary_id":"","start_time":"2026-07-01T22:48:00.000000+01:00"}},)"
      R"({"metadata":{"summary_id":null,"start_time":"2026-07-02T23:01:00.000000+01:00"}})"));
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].record_key(), "2026-07-01T22:48:00.000000+01:00");
  EXPECT_EQ(converted.events[1].record_key(), "2026-07-02T23:01:00.000000+01:00");
}

TEST(ConverterTest, BodyIsKeyedByTheDateOfStartTime) {
  const std::string body = ReadTestdata("body.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_BODY);
  EXPECT_EQ(event.record_key(), "2026-07-01");
  EXPECT_EQ(event.start_time(), "2026-07-01T00:00:00.000000-05:00");
  ASSERT_TRUE(event.has_body());
  EXPECT_DOUBLE_EQ(event.body().measurements_data().day_avg_weight_kg(), 72.4);
  ASSERT_THAT(event.body().measurements_data().measurements(), SizeIs(1));
  EXPECT_DOUBLE_EQ(event.body().measurements_data().measurements(0).bmi(), 23.1);
  EXPECT_EQ(event.body().glucose_data().blood_glucose_samples(1).trend_arrow(),
            terra::TREND_ARROW_RISING);
  EXPECT_DOUBLE_EQ(event.body().blood_pressure_data().blood_pressure_samples(0).systolic_bp(), 118);
  ExpectRawJsonIsSliceOfBody(event, body);
}

TEST(ConverterTest, DateKeyIsTheDateAsReceivedWithoutTimezoneConversion) {
  // 23:30 at -05:00 is already the next day in UTC; the key stays the
  // user's local day.
  ConvertedWebhook converted = ConvertOk(
      DataBody("daily", R"({"metadata":{"start_time":"2026-07-01T23:30:00.000000-05:00"}})"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].record_key(), "2026-07-01");
}

TEST(ConverterTest, DailyIsKeyedByDateWithTypedScoresAndStress) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("daily.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_DAILY);
  EXPECT_EQ(event.record_key(), "2026-07-01");
  ASSERT_TRUE(event.has_daily());
  EXPECT_EQ(event.daily().distance_data().steps(), 14302);
  EXPECT_DOUBLE_EQ(event.daily().calories_data().bmr_calories(), 1673);
  EXPECT_EQ(event.daily().stress_data().stress_rating(), terra::STRESS_LEVEL_LOW);
  EXPECT_DOUBLE_EQ(event.daily().scores().recovery(), 64);
  EXPECT_EQ(event.daily().data_enrichment().immune_index(), 72);
  EXPECT_EQ(event.daily().tag_data().tags(0).tag_name(), "alcohol");
}

TEST(ConverterTest, NutritionIsKeyedByDateWithTypedMeals) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("nutrition.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_NUTRITION);
  EXPECT_EQ(event.record_key(), "2026-07-01");
  ASSERT_TRUE(event.has_nutrition());
  EXPECT_DOUBLE_EQ(event.nutrition().summary().macros().calories(), 2140);
  EXPECT_DOUBLE_EQ(event.nutrition().summary().micros().vitamin_c_mg(), 96);
  ASSERT_THAT(event.nutrition().meals(), SizeIs(2));
  EXPECT_EQ(event.nutrition().meals(0).type(), terra::MEAL_TYPE_BREAKFAST);
  EXPECT_EQ(event.nutrition().meals(1).type(), terra::MEAL_TYPE_LUNCH);
  EXPECT_EQ(event.nutrition().meals(0).quantity().unit(), terra::NUTRITION_UNITS_GRAM);
  EXPECT_EQ(event.nutrition().drink_samples(0).drink_unit(), terra::NUTRITION_UNITS_MILLILITER);
}

TEST(ConverterTest, MenstruationIsKeyedByDateWithTypedPhases) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("menstruation.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_MENSTRUATION);
  EXPECT_EQ(event.record_key(), "2026-07-01");
  ASSERT_TRUE(event.has_menstruation());
  const terra::MenstruationData& data = event.menstruation().menstruation_data();
  EXPECT_EQ(data.current_phase(), terra::MENSTRUATION_INTERVAL_PERIOD);
  EXPECT_EQ(data.cycle_length_days(), 28);
  EXPECT_FALSE(data.is_predicted_cycle());
  EXPECT_TRUE(data.has_is_predicted_cycle());
  ASSERT_THAT(data.menstruation_flow(), SizeIs(3));
  EXPECT_EQ(data.menstruation_flow(0).flow(), terra::MENSTRUATION_FLOW_HEAVY);
}

TEST(ConverterTest, AthleteIsOneEventFromTheTopLevelAthleteObject) {
  const std::string body = ReadTestdata("athlete.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_ATHLETE);
  EXPECT_EQ(event.record_key(), "athlete");
  EXPECT_EQ(event.user().user_id(), kUserId);
  EXPECT_EQ(event.start_time(), "");
  ASSERT_TRUE(event.has_athlete());
  EXPECT_EQ(event.athlete().first_name(), "Amara");
  EXPECT_EQ(event.athlete().age(), 34);
  EXPECT_FALSE(event.athlete().has_email());
  ExpectRawJsonIsSliceOfBody(event, body);
  EXPECT_TRUE(absl::StartsWith(event.raw_json(), "{\n    \"first_name\": \"Amara\""));
  EXPECT_TRUE(absl::EndsWith(event.raw_json(), "\"f3c1a2b4-garmin-771204\"\n  }"));
}

TEST(ConverterTest, AthleteRawJsonIsTheExactObjectWhateverFollowsIt) {
  const std::string athlete = "{ \"first_name\" : \"Lea\",\n\t\"age\":29 ,\"tags\":[[1],{}] }";
  const std::string body =
      absl::StrCat(R"({"type":"athlete","athlete":  )", athlete,
                   " \n\t ,\r\n  \"user\":{\"user_id\":\"u-1\",\"provider\":\"POLAR\"}}");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].raw_json(), athlete);
  EXPECT_EQ(converted.events[0].athlete().age(), 29);

  const std::string last_field_body =
      absl::StrCat(R"({"type":"athlete","user":{"user_id":"u-1"},"athlete":)", athlete, "\n}\n");
  converted = ConvertOk(last_field_body);
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].raw_json(), athlete);
}

TEST(ConverterTest, PlannedWorkoutIsKeyedByPlannedWorkoutId) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("planned_workout.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_PLANNED_WORKOUT);
  EXPECT_EQ(event.record_key(), "pw-5f2c9d31-8e47-4a0b-b1d6-0c93e7a24f58");
  EXPECT_EQ(event.start_time(), "2026-07-03");  // planned_date
  ASSERT_TRUE(event.has_planned_workout());
  EXPECT_EQ(event.planned_workout().details().metadata().name(), "Threshold intervals 5x5'");
  ASSERT_THAT(event.planned_workout().details().steps(), SizeIs(2));
  ASSERT_THAT(event.planned_workout().details().steps(1).steps(), SizeIs(2));
  EXPECT_DOUBLE_EQ(event.planned_workout().details().steps(1).steps(0).targets(0).hr_bpm_high(),
                   173);
  EXPECT_DOUBLE_EQ(event.planned_workout().athlete_metrics().ftp(), 265);
}

TEST(ConverterTest, PlannedWorkoutKeyFallsBackToMetadataIdThenDetailsMetadataId) {
  ConvertedWebhook converted = ConvertOk(
      DataBody("planned_workout",
               R"({"metadata":{"id":"meta-1"},"details":{"metadata":{"id":"details-1"}}},)"
               R"({"planned_workout_id":"","details":{"metadata":{"id":"details-2"}}})"));
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].record_key(), "meta-1");
  EXPECT_EQ(converted.events[1].record_key(), "details-2");
}

TEST(ConverterTest, HormoneGivesOneEventPerSampleKeyedByTimestamp) {
  const std::string body = ReadTestdata("hormone.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].type(), v1::EVENT_TYPE_HORMONE);
  EXPECT_EQ(converted.events[0].record_key(), "2026-07-01T07:28:40.000000+10:00");
  EXPECT_EQ(converted.events[0].start_time(), "2026-07-01T07:28:40.000000+10:00");
  EXPECT_DOUBLE_EQ(converted.events[0].hormone().lh_miu_per_ml(), 8.4);
  EXPECT_EQ(converted.events[1].record_key(), "2026-07-02T07:15:03.000000+10:00");
  EXPECT_DOUBLE_EQ(converted.events[1].hormone().lh_miu_per_ml(), 21.7);
  EXPECT_FALSE(converted.events[1].hormone().has_hcg_miu_per_ml());
  EXPECT_EQ(converted.events[1].raw_json(),
            R"({"timestamp": "2026-07-02T07:15:03.000000+10:00", "lh_mIU_per_ml": 21.7, )"
            R"("e3g_ng_per_ml": 186.0, "pdg_ug_per_ml": 2.4, "hcg_mIU_per_ml": null})");
}

TEST(ConverterTest, HealthObservationIsKeptRawWithItsKeyButNoTypedPayload) {
  const std::string body = ReadTestdata("health_observation.json");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_HEALTH_OBSERVATION);
  EXPECT_EQ(event.record_key(), "obs-2b8e61f4-audio-exposure");  // metadata.id
  EXPECT_EQ(event.start_time(), "2026-07-01T12:00:00.000000+02:00");
  EXPECT_EQ(event.payload_case(), v1::Event::PAYLOAD_NOT_SET);
  ExpectRawJsonIsSliceOfBody(event, body);
}

TEST(ConverterTest, HealthObservationKeyPrefersSummaryIdThenFallsBackToStartTime) {
  ConvertedWebhook converted = ConvertOk(DataBody(
      "health_observation",
      R"({"metadata":{"summary_id":"s-1","id":"i-1","start_time":"2026-07-01T12:00:00Z"}},)"
      R"({"metadata":{"start_time":"2026-07-01T13:00:00Z"}})"));
  ASSERT_THAT(converted.events, SizeIs(2));
  EXPECT_EQ(converted.events[0].record_key(), "s-1");
  EXPECT_EQ(converted.events[1].record_key(), "2026-07-01T13:00:00Z");
}

TEST(ConverterTest, EmptyDataGivesNoEvents) {
  ConvertedWebhook converted = ConvertOk(DataBody("activity", ""));
  EXPECT_EQ(converted.terra_type, "activity");
  EXPECT_THAT(converted.events, IsEmpty());
}

// ---------------------------------------------------------------------------
// raw_json slices.

TEST(ConverterTest, RawJsonIsExactBytesDespiteOddWhitespaceAndNestedArrays) {
  const std::string first =
      "{\"metadata\" :{ \"summary_id\":\"a-1\" , "
      "\"start_time\":\"2026-07-01T07:04:11.000000+01:00\"},\n"
      "\t\"position_data\":{\"start_pos_lat_lng_deg\":[ 51.5 ,-0.1 ],\"position_samples\":"
      "[{\"coords_lat_lng_deg\":[[1,2],[3,[4]]]}]}\r\n}";
  const std::string second = "{\"metadata\":{\"summary_id\":\"a-2\"},\"x\":[[],[[]],\"]\"]}";
  const std::string third = "{\"metadata\":{\"summary_id\":\"a-3\",\"name\":\"comma, ] and }\"}}";
  const std::string body =
      absl::StrCat("{\"type\":\"activity\",\"data\":[ \n\t", first, " \r\n , \n", second, ",",
                   third, "\n\t ] \n, \"user\":{\"user_id\":\"u-1\"}\n}\n");
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(3));
  EXPECT_EQ(converted.events[0].raw_json(), first);
  EXPECT_EQ(converted.events[1].raw_json(), second);
  EXPECT_EQ(converted.events[2].raw_json(), third);
  EXPECT_EQ(converted.events[2].activity().metadata().name(), "comma, ] and }");
}

TEST(ConverterTest, RawJsonOfACompactSingleRecordIsTheWholeElement) {
  const std::string record = R"({"metadata":{"summary_id":"a-1"}})";
  ConvertedWebhook converted = ConvertOk(DataBody("activity", record));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].raw_json(), record);
}

TEST(ConverterTest, RawJsonKeepsEscapesAndNumberSpellingAsReceived) {
  const std::string record =
      R"({"metadata":{"summary_id":"a\u002d1","name":"Caf\u00e9 \"run\""},"energy_data":{"energy_kilojoules":2.50E+3}})";
  ConvertedWebhook converted = ConvertOk(DataBody("activity", record));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].raw_json(), record);
  EXPECT_EQ(converted.events[0].record_key(), "a-1");
  EXPECT_EQ(converted.events[0].activity().metadata().name(), "Caf\xC3\xA9 \"run\"");
  EXPECT_DOUBLE_EQ(converted.events[0].activity().energy_data().energy_kilojoules(), 2500);
}

// ---------------------------------------------------------------------------
// Connection, service and unknown events.

struct ConnectionCase {
  const char* file;
  v1::EventType type;
};

class ConnectionEventTest : public ::testing::TestWithParam<ConnectionCase> {};

TEST_P(ConnectionEventTest, IsOneEventWithTheWholeBodyKeyedByContent) {
  const std::string body = ReadTestdata(GetParam().file);
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), GetParam().type);
  EXPECT_EQ(event.raw_json(), body);
  EXPECT_EQ(event.record_key(), ContentHashKey(body));
  EXPECT_TRUE(event.has_connection());
  EXPECT_THAT(event.conversion_problems(), IsEmpty());
  EXPECT_EQ(event.trace_id(), "4c1e7a90-3d2b-4f6e-8a15-b09d2c7e6f31");
}

INSTANTIATE_TEST_SUITE_P(
    EveryConnectionEventType, ConnectionEventTest,
    ::testing::Values(ConnectionCase{"auth_success.json", v1::EVENT_TYPE_AUTH},
                      ConnectionCase{"auth_error.json", v1::EVENT_TYPE_AUTH_ERROR},
                      ConnectionCase{"auth_cancelled.json", v1::EVENT_TYPE_AUTH_ERROR},
                      ConnectionCase{"deauth.json", v1::EVENT_TYPE_DEAUTH},
                      ConnectionCase{"user_reauth.json", v1::EVENT_TYPE_USER_REAUTH},
                      ConnectionCase{"access_revoked.json", v1::EVENT_TYPE_ACCESS_REVOKED},
                      ConnectionCase{"connection_error.json", v1::EVENT_TYPE_CONNECTION_ERROR},
                      ConnectionCase{"permission_change.json", v1::EVENT_TYPE_PERMISSION_CHANGE},
                      ConnectionCase{"large_request_sending.json",
                                     v1::EVENT_TYPE_LARGE_REQUEST_SENDING},
                      ConnectionCase{"s3_payload.json", v1::EVENT_TYPE_S3_PAYLOAD}),
    [](const ::testing::TestParamInfo<ConnectionCase>& info) {
      std::string name(info.param.file);
      return name.substr(0, name.find('.'));
    });

TEST(ConverterTest, TypesWithoutTestdataFilesAreConnectionEventsToo) {
  for (const auto& [terra_type, type] : std::vector<std::pair<std::string, v1::EventType>>{
           {"google_no_datasource", v1::EVENT_TYPE_GOOGLE_NO_DATASOURCE},
           {"large_request_processing", v1::EVENT_TYPE_LARGE_REQUEST_PROCESSING},
           {"rate_limit_hit", v1::EVENT_TYPE_RATE_LIMIT_HIT},
           {"processing", v1::EVENT_TYPE_PROCESSING}}) {
    const std::string body = absl::StrCat(R"({"type":")", terra_type,
                                          R"(","status":"warning","user":{"user_id":"u-1"}})");
    ConvertedWebhook converted = ConvertOk(body);
    ASSERT_THAT(converted.events, SizeIs(1)) << terra_type;
    EXPECT_EQ(converted.events[0].type(), type) << terra_type;
    EXPECT_EQ(converted.events[0].connection().status(), "warning");
    EXPECT_EQ(converted.events[0].user().user_id(), "u-1");
  }
}

TEST(ConverterTest, AuthSuccessCarriesUserAndWidgetSession) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("auth_success.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.user().user_id(), kUserId);
  EXPECT_EQ(event.connection().status(), "success");
  EXPECT_EQ(event.connection().reference_id(), "patient-20417");
  EXPECT_EQ(event.connection().widget_session_id(), "3f6b2d0e-8c41-4a77-9e15-d2a0c7b9f364");
}

TEST(ConverterTest, AuthWithStatusErrorIsAnAuthErrorWithItsReason) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("auth_error.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].type(), v1::EVENT_TYPE_AUTH_ERROR);
  EXPECT_EQ(converted.events[0].terra_type(), "auth");
  EXPECT_EQ(converted.events[0].connection().reason(), "missing_scopes");
  EXPECT_EQ(converted.events[0].user().provider(), "FITBIT");
}

TEST(ConverterTest, AuthCancelledNeedsNoUser) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("auth_cancelled.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].type(), v1::EVENT_TYPE_AUTH_ERROR);
  EXPECT_EQ(converted.events[0].terra_type(), "auth_cancelled");
  EXPECT_FALSE(converted.events[0].has_user());
  EXPECT_EQ(converted.events[0].connection().reason(), "user_cancelled");
}

TEST(ConverterTest, UserReauthEventBelongsToTheNewUser) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("user_reauth.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.user().user_id(), "0e5a9c72-d318-4b4f-a6e1-94f2b8c07d53");
  EXPECT_EQ(event.connection().old_user().user_id(), kUserId);
  EXPECT_EQ(event.connection().new_user().user_id(), "0e5a9c72-d318-4b4f-a6e1-94f2b8c07d53");
}

TEST(ConverterTest, PermissionChangeCarriesScopesAddedAndRemoved) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("permission_change.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].connection().scopes_added(), "heartrate,spo2");
  EXPECT_EQ(converted.events[0].connection().scopes_removed(), "tag");
}

TEST(ConverterTest, LargeRequestSendingCarriesExpectedPayloads) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("large_request_sending.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].connection().expected_payloads(), 7);
  EXPECT_EQ(converted.events[0].connection().reference(), "7d1c0e9b-4a26-4f83-b5e0-2c9f6a81d437");
}

TEST(ConverterTest, S3PayloadCarriesUrlAndExpiry) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("s3_payload.json"));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_TRUE(absl::StartsWith(converted.events[0].connection().url(),
                               "https://terra-payloads.s3.eu-west-2.amazonaws.com/"));
  EXPECT_EQ(converted.events[0].connection().expires_in(), 600);
}

TEST(ConverterTest, HealthcheckGivesNoEvents) {
  ConvertedWebhook converted = ConvertOk(ReadTestdata("healthcheck.json"));
  EXPECT_EQ(converted.terra_type, "healthcheck");
  EXPECT_THAT(converted.events, IsEmpty());
}

TEST(ConverterTest, UnknownTypeIsKeptRawAsAnUnknownEvent) {
  const std::string body = ReadTestdata("unknown_type.json");
  ConvertedWebhook converted = ConvertOk(body);
  EXPECT_EQ(converted.terra_type, "glucose_alert");
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_UNKNOWN);
  EXPECT_EQ(event.terra_type(), "glucose_alert");
  EXPECT_EQ(event.raw_json(), body);
  EXPECT_EQ(event.record_key(), ContentHashKey(body));
  EXPECT_EQ(event.user().user_id(), kUserId);
  EXPECT_EQ(event.payload_case(), v1::Event::PAYLOAD_NOT_SET);
}

TEST(ConverterTest, UnknownTypeWithoutUserOrWithOddFieldsIsStillKept) {
  ConvertedWebhook converted = ConvertOk(R"({"type":"","user":null,"data":7})");
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].type(), v1::EVENT_TYPE_UNKNOWN);
  EXPECT_FALSE(converted.events[0].has_user());
}

TEST(ConverterTest, ContentHashKeyIsStableForIdenticalBodies) {
  const std::string body = ReadTestdata("deauth.json");
  ConvertedWebhook first = ConvertOk(body);
  ConvertedWebhook redelivered = ConvertOk(std::string(body));
  ASSERT_THAT(first.events, SizeIs(1));
  ASSERT_THAT(redelivered.events, SizeIs(1));
  EXPECT_EQ(first.events[0].record_key(), redelivered.events[0].record_key());
}

TEST(ConverterTest, ContentHashKeyDiffersForDifferentBodies) {
  ConvertedWebhook deauth = ConvertOk(ReadTestdata("deauth.json"));
  ConvertedWebhook revoked = ConvertOk(ReadTestdata("access_revoked.json"));
  ConvertedWebhook one_space_more = ConvertOk(ReadTestdata("deauth.json") + " ");
  ASSERT_THAT(deauth.events, SizeIs(1));
  ASSERT_THAT(revoked.events, SizeIs(1));
  ASSERT_THAT(one_space_more.events, SizeIs(1));
  EXPECT_NE(deauth.events[0].record_key(), revoked.events[0].record_key());
  EXPECT_NE(deauth.events[0].record_key(), one_space_more.events[0].record_key());
}

TEST(ConverterTest, ContentHashKeyIsLowercaseHexOfTheFirst16BytesOfSha256) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.
  EXPECT_EQ(ContentHashKey("abc"), "ba7816bf8f01cfea414140de5dae2223");
}

// ---------------------------------------------------------------------------
// Envelope errors: InvalidArgument naming the problem, and no events.

void ExpectInvalidArgument(absl::string_view body, absl::string_view message_part) {
  const absl::Status status = ConvertError(body);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(message_part)));
}

TEST(ConverterTest, NotJsonIsInvalidArgument) {
  ExpectInvalidArgument("type=activity&user=1", "body is not valid JSON: ");
}

TEST(ConverterTest, EmptyBodyIsInvalidArgument) {
  ExpectInvalidArgument("", "body is not valid JSON: ");
}

TEST(ConverterTest, TruncatedJsonIsInvalidArgument) {
  const std::string body = ReadTestdata("activity.json");
  ExpectInvalidArgument(body.substr(0, body.size() / 2), "body is not valid JSON: ");
}

TEST(ConverterTest, InvalidUtf8IsInvalidArgument) {
  ExpectInvalidArgument(
      DataBody("activity", "{\"metadata\":{\"summary_id\":\"a-1\",\"name\":\"Caf\xE9\"}}"),
      "body is not valid JSON: ");
}

TEST(ConverterTest, ArrayBodyIsInvalidArgument) {
  ExpectInvalidArgument(R"([{"type":"activity"}])", "not a JSON object");
}

TEST(ConverterTest, BodyWithoutTypeIsInvalidArgument) {
  ExpectInvalidArgument(R"({"user":{"user_id":"u-1"},"data":[]})", "`type`");
}

TEST(ConverterTest, NonStringTypeIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":3,"data":[]})", "`type` is not a string");
  ExpectInvalidArgument(R"({"type":null,"data":[]})", "`type` is not a string");
}

TEST(ConverterTest, DataEventWithoutUserIdIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":"activity","data":[]})", "data event without user.user_id");
  ExpectInvalidArgument(R"({"type":"activity","user":null,"data":[]})", "user.user_id");
  ExpectInvalidArgument(R"({"type":"activity","user":{"provider":"GARMIN"},"data":[]})",
                        "user.user_id");
  ExpectInvalidArgument(R"({"type":"activity","user":{"user_id":""},"data":[]})", "user.user_id");
  ExpectInvalidArgument(R"({"type":"activity","user":{"user_id":42},"data":[]})", "user.user_id");
}

TEST(ConverterTest, DataEventWithoutDataIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":"sleep","user":{"user_id":"u-1"}})", "`data`");
}

TEST(ConverterTest, DataThatIsNotAnArrayIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":"sleep","user":{"user_id":"u-1"},"data":{}})",
                        "`data` is not an array");
  ExpectInvalidArgument(R"({"type":"sleep","user":{"user_id":"u-1"},"data":null})",
                        "`data` is not an array");
}

TEST(ConverterTest, RecordThatIsNotAnObjectIsInvalidArgumentNamingItsIndex) {
  ExpectInvalidArgument(DataBody("activity", R"({"metadata":{"summary_id":"a-1"}},"a-2")"),
                        "data[1]: record is not a JSON object");
  ExpectInvalidArgument(DataBody("body", "null"), "data[0]");
}

TEST(ConverterTest, KeyErrorInALaterRecordRejectsTheWholeWebhook) {
  ExpectInvalidArgument(
      DataBody("activity", R"({"metadata":{"summary_id":"a-1"}},{"metadata":{}},)"
                           R"({"metadata":{"summary_id":"a-3"}},{"metadata":{"name":"x"}})"),
      "data[1]: activity record without metadata.summary_id");
}

struct MissingKeyCase {
  const char* type;
  const char* record;
  const char* message;
};

class MissingKeyTest : public ::testing::TestWithParam<MissingKeyCase> {};

TEST_P(MissingKeyTest, IsInvalidArgumentNamingTheIndexAndField) {
  ExpectInvalidArgument(
      DataBody(GetParam().type,
               absl::StrCat(R"({"metadata":{"summary_id":"x-1","start_time":"2026-07-01"},)",
                            R"("timestamp":"2026-07-01T07:00:00Z","planned_workout_id":"p"},)",
                            GetParam().record)),
      absl::StrCat("data[1]: ", GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKeyedType, MissingKeyTest,
    ::testing::Values(
        MissingKeyCase{"activity", R"({"metadata":{"summary_id":null}})",
                       "activity record without metadata.summary_id"},
        MissingKeyCase{"activity", R"({"metadata":{"summary_id":12345}})",
                       "activity record without metadata.summary_id"},
        MissingKeyCase{"sleep", R"({"metadata":{"end_time":"2026-07-02T07:00:00Z"}})",
                       "sleep record without metadata.summary_id or metadata.start_time"},
        MissingKeyCase{"body", R"({"metadata":null})", "body record without metadata.start_time"},
        MissingKeyCase{"daily", R"({})", "daily record without metadata.start_time"},
        MissingKeyCase{"nutrition", R"({"metadata":{"start_time":""}})",
                       "nutrition record without metadata.start_time"},
        MissingKeyCase{"menstruation", R"({"metadata":{"start_time":"yesterday"}})",
                       "menstruation record has a bad metadata.start_time"},
        MissingKeyCase{"daily", R"({"metadata":{"start_time":"01/07/2026 00:00"}})",
                       "daily record has a bad metadata.start_time"},
        MissingKeyCase{"hormone", R"({"lh_mIU_per_ml":8.4})", "hormone record without timestamp"},
        MissingKeyCase{"planned_workout", R"({"details":{"metadata":{"name":"x"}}})",
                       "planned_workout record without planned_workout_id, metadata.id or "
                       "details.metadata.id"},
        MissingKeyCase{"health_observation", R"({"metadata":{}})",
                       "health_observation record without metadata.summary_id, metadata.id "
                       "or metadata.start_time"}),
    [](const ::testing::TestParamInfo<MissingKeyCase>& info) {
      return absl::StrCat(info.param.type, "_", info.index);
    });

TEST(ConverterTest, AthleteWithoutAthleteObjectIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":"athlete","user":{"user_id":"u-1"}})", "`athlete` object");
  ExpectInvalidArgument(R"({"type":"athlete","user":{"user_id":"u-1"},"athlete":null})",
                        "`athlete` object");
  ExpectInvalidArgument(R"({"type":"athlete","user":{"user_id":"u-1"},"athlete":[{}]})",
                        "`athlete` object");
}

TEST(ConverterTest, AthleteWithoutUserIdIsInvalidArgument) {
  ExpectInvalidArgument(R"({"type":"athlete","athlete":{"first_name":"Lea"}})",
                        "athlete event without user.user_id");
}

// ---------------------------------------------------------------------------
// Schema drift: the record is kept, what fits is typed, the rest is listed.

TEST(ConverterTest, StringWhereNumberExpectedLeavesOnlyThatFieldOut) {
  const std::string record =
      R"({"metadata":{"summary_id":"a-1","type":8,"name":"Run"},)"
      R"("energy_data":{"energy_kilojoules":"n/a","energy_planned_kilojoules":2500},)"
      R"("calories_data":{"BMR_calories":1673},"work_data":{"work_kilojoules":779.3}})";
  const std::string body = DataBody("activity", record);
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(converted.events_with_problems, 1);
  EXPECT_EQ(event.record_key(), "a-1");
  EXPECT_EQ(event.raw_json(), record);
  ASSERT_TRUE(event.has_activity());
  EXPECT_FALSE(event.activity().energy_data().has_energy_kilojoules());
  EXPECT_DOUBLE_EQ(event.activity().energy_data().energy_planned_kilojoules(), 2500);
  EXPECT_DOUBLE_EQ(event.activity().calories_data().bmr_calories(), 1673);
  EXPECT_DOUBLE_EQ(event.activity().work_data().work_kilojoules(), 779.3);
  EXPECT_EQ(event.activity().metadata().type(), terra::ACTIVITY_TYPE_RUNNING);
  ASSERT_THAT(event.conversion_problems(), SizeIs(1));
  EXPECT_EQ(event.conversion_problems(0).field_path(), "energy_data.energy_kilojoules");
  EXPECT_THAT(event.conversion_problems(0).reason(), HasSubstr("n/a"));
}

TEST(ConverterTest, UnknownEnumValueIsKeptAndFlagged) {
  ConvertedWebhook converted = ConvertOk(DataBody(
      "activity",
      R"({"metadata":{"summary_id":"a-1","type":999,"upload_type":1},)"
      R"("heart_rate_data":{"detailed":{"hr_samples":[{"bpm":60,"context":1},{"bpm":61,"context":7}]}}})"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(converted.events_with_problems, 1);
  EXPECT_EQ(static_cast<int>(event.activity().metadata().type()), 999);
  EXPECT_EQ(event.activity().metadata().upload_type(), terra::UPLOAD_TYPE_AUTOMATIC);
  ASSERT_THAT(event.conversion_problems(), SizeIs(2));
  EXPECT_EQ(event.conversion_problems(0).field_path(),
            "heart_rate_data.detailed.hr_samples[1].context");
  EXPECT_EQ(event.conversion_problems(0).reason(), "unknown enum value 7 for HeartRateContext");
  EXPECT_EQ(event.conversion_problems(1).field_path(), "metadata.type");
  EXPECT_EQ(event.conversion_problems(1).reason(), "unknown enum value 999 for ActivityType");
}

TEST(ConverterTest, NewNestedShapeIsFlaggedWhileTheRestConverts) {
  // Terra turning scalars and lists into objects.
  ConvertedWebhook converted = ConvertOk(DataBody(
      "activity",
      R"({"metadata":{"summary_id":"a-1","type":{"id":8,"name":"running"},"name":"Run"},)"
      R"("heart_rate_data":{"summary":{"avg_hr_bpm":{"value":151,"unit":"bpm"},"max_hr_bpm":178}},)"
      R"("position_data":{"start_pos_lat_lng_deg":{"lat":51.5,"lng":-0.1}},)"
      R"("MET_data":{"avg_level":9.4}})"));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_THAT(ProblemPaths(event),
              ElementsAre("metadata.type", "heart_rate_data.summary.avg_hr_bpm",
                          "position_data.start_pos_lat_lng_deg"));
  EXPECT_EQ(event.activity().metadata().summary_id(), "a-1");
  EXPECT_EQ(event.activity().metadata().name(), "Run");
  EXPECT_FALSE(event.activity().metadata().has_type());
  EXPECT_FALSE(event.activity().heart_rate_data().summary().has_avg_hr_bpm());
  EXPECT_DOUBLE_EQ(event.activity().heart_rate_data().summary().max_hr_bpm(), 178);
  EXPECT_THAT(event.activity().position_data().start_pos_lat_lng_deg(), IsEmpty());
  EXPECT_DOUBLE_EQ(event.activity().met_data().avg_level(), 9.4);
}

TEST(ConverterTest, RecordWithNothingTypedIsKeptRawWithoutPayload) {
  // planned_workout keyed by metadata.id, which the typed schema does not
  // model, and its one modelled field drifted.
  const std::string record = R"({"metadata":{"id":"m-1"},"is_external":[true]})";
  ConvertedWebhook converted = ConvertOk(DataBody("planned_workout", record));
  ASSERT_THAT(converted.events, SizeIs(1));
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.record_key(), "m-1");
  EXPECT_EQ(event.payload_case(), v1::Event::PAYLOAD_NOT_SET);
  EXPECT_THAT(ProblemPaths(event), ElementsAre("is_external"));
  EXPECT_EQ(event.raw_json(), record);
}

TEST(ConverterTest, EventsWithProblemsCountsOnlyDriftedRecords) {
  ConvertedWebhook converted =
      ConvertOk(DataBody("sleep", R"({"metadata":{"summary_id":"s-1"},"scores":{"sleep":84}},)"
                                  R"({"metadata":{"summary_id":"s-2"},"scores":{"sleep":"good"}},)"
                                  R"({"metadata":{"summary_id":"s-3"}})"));
  ASSERT_THAT(converted.events, SizeIs(3));
  EXPECT_EQ(converted.events_with_problems, 1);
  EXPECT_THAT(converted.events[0].conversion_problems(), IsEmpty());
  EXPECT_THAT(ProblemPaths(converted.events[1]), ElementsAre("scores.sleep"));
  EXPECT_THAT(converted.events[2].conversion_problems(), IsEmpty());
}

TEST(ConverterTest, DriftedUserKeepsItsIdAndListsTheField) {
  ConvertedWebhook converted = ConvertOk(
      R"({"type":"activity","user":{"user_id":"u-1","provider":"GARMIN","scopes":["sleep"]},)"
      R"("data":[{"metadata":{"summary_id":"a-1"}}]})");
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].user().user_id(), "u-1");
  EXPECT_EQ(converted.events[0].user().provider(), "GARMIN");
  EXPECT_FALSE(converted.events[0].user().has_scopes());
  EXPECT_THAT(ProblemPaths(converted.events[0]), ElementsAre("user.scopes"));
}

TEST(ConverterTest, DriftedConnectionEventIsStillKept) {
  const std::string body =
      R"({"type":"s3_payload","url":"https://example.com/p","expires_in":"ten minutes"})";
  ConvertedWebhook converted = ConvertOk(body);
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_EQ(converted.events[0].connection().url(), "https://example.com/p");
  EXPECT_THAT(ProblemPaths(converted.events[0]), ElementsAre("expires_in"));
  EXPECT_EQ(converted.events[0].raw_json(), body);
}

TEST(ConverterTest, UnknownFieldsAreIgnoredButKeptInRawJson) {
  const std::string record =
      R"({"metadata":{"summary_id":"a-1","new_id_scheme":{"v":2}},"ai_coach":{"tips":["hydrate"]}})";
  ConvertedWebhook converted = ConvertOk(DataBody("activity", record));
  ASSERT_THAT(converted.events, SizeIs(1));
  EXPECT_THAT(converted.events[0].conversion_problems(), IsEmpty());
  EXPECT_EQ(converted.events[0].activity().metadata().summary_id(), "a-1");
  EXPECT_EQ(converted.events[0].raw_json(), record);
  EXPECT_EQ(converted.events_with_problems, 0);
}

TEST(ConverterTest, NullEverywhereDoesNotCrash) {
  const std::string record =
      R"({"metadata":{"summary_id":"a-1","start_time":null,"type":null,"upload_type":null},)"
      R"("calories_data":null,"heart_rate_data":{"summary":null,"detailed":{"hr_samples":[null,{"bpm":null}]}},)"
      R"("position_data":{"start_pos_lat_lng_deg":[null,null]},)"
      R"("data_enrichment":{"strain_contributors":{"hr":null}},"device_data":{"data_provided":null},)"
      R"("MET_data":{"MET_samples":null,"avg_level":null},"lap_data":{"laps":[null]}})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(
      absl::StrCat(R"({"type":"activity","version":null,"user":{"user_id":"u-1",)"
                   R"("provider":null,"reference_id":null,"scopes":null,"active":null},)"
                   R"("data":[)",
                   record, "]}"),
      TestContext());
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_THAT(converted->events, SizeIs(1));
  EXPECT_EQ(converted->events[0].record_key(), "a-1");
  EXPECT_EQ(converted->events[0].start_time(), "");
  EXPECT_EQ(converted->events[0].raw_json(), record);
  EXPECT_FALSE(converted->events[0].user().has_provider());

  // Nulls in connection and unknown events, and null where objects go.
  for (const char* body :
       {R"({"type":"deauth","user":null,"status":null,"message":null})",
        R"({"type":"user_reauth","new_user":null,"old_user":null,"user":null})",
        R"({"type":"auth","status":null,"user":{"user_id":null}})",
        R"({"type":"mystery","user":{"user_id":null},"data":[null]})",
        R"({"type":"athlete","user":{"user_id":"u-1"},"athlete":{"age":null,"first_name":null}})",
        R"({"type":"healthcheck","status":null})"}) {
    EXPECT_TRUE(ConvertTerraWebhook(body, TestContext()).ok()) << body;
  }
}

TEST(ConverterTest, EveryTruncationOfABodyIsAnAnswerNeverACrash) {
  for (const char* file : {"activity.json", "athlete.json", "hormone.json", "user_reauth.json"}) {
    const std::string body = ReadTestdata(file);
    for (size_t size = 0; size <= body.size(); ++size) {
      absl::StatusOr<ConvertedWebhook> converted =
          ConvertTerraWebhook(absl::string_view(body).substr(0, size), TestContext());
      // Internal would mean valid JSON whose record bytes were not found.
      EXPECT_TRUE(converted.ok() || converted.status().code() == absl::StatusCode::kInvalidArgument)
          << file << " cut at " << size << ": " << converted.status();
    }
  }
}

// ---------------------------------------------------------------------------
// record_key.h.

TEST(RecordKeyTest, EveryNamedEventTypeRoundTripsThroughItsTerraName) {
  for (int number = 0; number <= 99; ++number) {
    if (!v1::EventType_IsValid(number)) continue;
    const auto type = static_cast<v1::EventType>(number);
    const absl::string_view name = TerraTypeName(type);
    // BACKFILL_COMPLETE is healthwire's own change, never a Terra type: a
    // posted "backfill_complete" must not pass for one (it is UNKNOWN).
    if (type == v1::EVENT_TYPE_UNSPECIFIED || type == v1::EVENT_TYPE_UNKNOWN ||
        type == v1::EVENT_TYPE_BACKFILL_COMPLETE) {
      EXPECT_EQ(name, "") << number;
      continue;
    }
    EXPECT_NE(name, "") << number;
    EXPECT_EQ(EventTypeFromTerraType(name), type) << name;
  }
  EXPECT_EQ(EventTypeFromTerraType("healthcheck"), v1::EVENT_TYPE_UNSPECIFIED);
  EXPECT_EQ(EventTypeFromTerraType("Activity"), v1::EVENT_TYPE_UNKNOWN);
  EXPECT_EQ(EventTypeFromTerraType("backfill_complete"), v1::EVENT_TYPE_UNKNOWN);
}

TEST(RecordKeyTest, DateKeyNeedsTheYyyyMmDdShape) {
  EXPECT_EQ(*DateKeyFromTimestamp("2026-07-01T23:30:00.000000-05:00"), "2026-07-01");
  EXPECT_EQ(*DateKeyFromTimestamp("2026-07-01"), "2026-07-01");
  EXPECT_FALSE(DateKeyFromTimestamp("2026-7-01T00:00:00Z").ok());
  EXPECT_FALSE(DateKeyFromTimestamp("2026/07/01").ok());
  EXPECT_FALSE(DateKeyFromTimestamp("").ok());
}

}  // namespace
TEST(ConverterDriftTest, EnumSentAsAnUnknownNameIsFlaggedAndKeptRaw) {
  const std::string body = R"({"type":"activity","user":{"user_id":"u1","provider":"GARMIN"},)"
                           R"("data":[{"metadata":{"summary_id":"a1","type":"running",)"
                           R"("start_time":"2026-07-01T07:00:00.000000+01:00"}}]})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_EQ(converted->events.size(), 1u);
  const v1::Event& event = converted->events[0];
  ASSERT_EQ(event.conversion_problems_size(), 1);
  EXPECT_EQ(event.conversion_problems(0).field_path(), "metadata.type");
  EXPECT_NE(event.conversion_problems(0).reason().find("unknown enum name \"running\""),
            std::string::npos);
  EXPECT_EQ(event.activity().metadata().summary_id(), "a1");
  EXPECT_NE(event.raw_json().find("\"running\""), std::string::npos);
  EXPECT_EQ(converted->events_with_problems, 1);
}

TEST(ConverterDriftTest, EnumSentAsItsProtoNameIsAcceptedWithoutAProblem) {
  const std::string body = R"({"type":"activity","user":{"user_id":"u1"},)"
                           R"("data":[{"metadata":{"summary_id":"a1",)"
                           R"("type":"ACTIVITY_TYPE_RUNNING"}}]})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->events[0].conversion_problems_size(), 0);
  EXPECT_EQ(converted->events[0].activity().metadata().type(),
            terra::ACTIVITY_TYPE_RUNNING);
}

TEST(ConverterDriftTest, NumberBeyondDoubleRangeIsFlaggedNotRefused) {
  const std::string record =
      R"({"metadata":{"summary_id":"a1","start_time":"2026-07-01T07:00:00.000000+01:00"},)"
      R"("energy_data":{"energy_kilojoules":1e400},"work_data":{"work_kilojoules":12.5}})";
  const std::string body = absl::StrCat(
      R"({"type":"activity","user":{"user_id":"u1"},"data":[)", record, "]}");
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_TRUE(converted.ok()) << converted.status();
  ASSERT_EQ(converted->events.size(), 1u);
  const v1::Event& event = converted->events[0];
  EXPECT_EQ(event.raw_json(), record);
  EXPECT_EQ(event.activity().work_data().work_kilojoules(), 12.5);
  ASSERT_EQ(event.conversion_problems_size(), 1);
  EXPECT_EQ(event.conversion_problems(0).field_path(), "energy_data.energy_kilojoules");
}

TEST(ConverterDriftTest, IntegerBeyondSixtyFourBitsIsKeptInADoubleAndFlaggedInAnInteger) {
  const std::string body =
      R"({"type":"activity","user":{"user_id":"u1"},"data":[{"metadata":{"summary_id":"a1"},)"
      R"("energy_data":{"energy_kilojoules":123456789012345678901234567890},)"
      R"("lap_data":{"laps":[{"total_strokes":123456789012345678901234567890}]}}]})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_TRUE(converted.ok()) << converted.status();
  const v1::Event& event = converted->events[0];
  EXPECT_DOUBLE_EQ(event.activity().energy_data().energy_kilojoules(), 1.2345678901234568e29);
  ASSERT_EQ(event.conversion_problems_size(), 1);
  EXPECT_EQ(event.conversion_problems(0).field_path(), "lap_data.laps");
}

TEST(ConverterEnvelopeTest, HugeNumberAsTheRecordKeyIsAMissingKey) {
  const std::string body =
      R"({"type":"activity","user":{"user_id":"u1"},"data":[{"metadata":{"summary_id":1e400}}]})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_FALSE(converted.ok());
  EXPECT_THAT(std::string(converted.status().message()), HasSubstr("metadata.summary_id"));
}

TEST(ConverterEnvelopeTest, MalformedNumberIsStillNotJson) {
  const std::string body =
      R"({"type":"activity","user":{"user_id":"u1"},"data":[{"metadata":{"summary_id":"a"},)"
      R"("energy_data":{"energy_kilojoules":1.2.3}}]})";
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, DeliveryContext());
  ASSERT_FALSE(converted.ok());
  EXPECT_THAT(std::string(converted.status().message()), HasSubstr("not valid JSON"));
}

}  // namespace healthwire
