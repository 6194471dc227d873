// Proof that the one-pass DOM walker (server/convert/dom_to_proto.h) converts exactly
// as protobuf's JsonStringToMessage with the per-field fallback
// (server/convert/lenient_json_to_proto.h) does: the same events, the same typed
// messages (MessageDifferencer) and the same conversion-problem paths, over
// every fixture (tests/testdata: Terra's documented examples), every hostile
// body (tests/hostile), the simulator's output for every type, and the
// protobuf 3.21 JSON quirks the walker reproduces, one record each.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/converter/conversion_diff.h"
#include "tools/simulator/terra_payloads.h"

namespace healthwire {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Bazel runs tests with the runfiles workspace root as the working directory.
std::vector<std::filesystem::path> FilesIn(const std::string& folder, const std::string& ext) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ext) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(DomToProtoDifferentialTest, EveryFixtureConvertsTheSame) {
  const auto files = FilesIn("tests/testdata", ".json");
  ASSERT_GE(files.size(), 20u);
  for (const auto& file : files) {
    EXPECT_EQ(DiffFillers(ReadFile(file)), "") << file;
  }
}

TEST(DomToProtoDifferentialTest, EveryHostileBodyConvertsTheSame) {
  const auto files = FilesIn("tests/hostile", ".body");
  ASSERT_GE(files.size(), 150u);
  for (const auto& file : files) {
    EXPECT_EQ(DiffFillers(ReadFile(file)), "") << file;
  }
}

TEST(DomToProtoDifferentialTest, SimulatorOutputConvertsTheSame) {
  int bodies = 0;
  for (simulator::PayloadType type : simulator::AllPayloadTypes()) {
    for (int samples : {0, 1, 12, 200}) {
      simulator::SimulationOptions options;
      options.type = type;
      options.samples_per_array = samples;
      options.record_count = 3;
      options.records_per_webhook = 3;
      options.reference_id = "ref";
      options.seed = static_cast<uint64_t>(samples) + 7;
      absl::StatusOr<std::vector<simulator::SimulatedWebhook>> webhooks =
          simulator::GenerateWebhooks(options);
      ASSERT_TRUE(webhooks.ok()) << webhooks.status();
      for (const simulator::SimulatedWebhook& webhook : *webhooks) {
        EXPECT_EQ(DiffFillers(webhook.body), "") << simulator::TerraTypeName(type) << " "
                                                 << samples;
        ++bodies;
      }
    }
  }
  EXPECT_GE(bodies, 36);
}

std::string Activity(absl::string_view metadata_members, absl::string_view record_members) {
  return absl::StrCat(R"({"type":"activity","user":{"user_id":"u"},"data":[{"metadata":)",
                      R"({"summary_id":"s")", metadata_members, "}", record_members, "}]}");
}

std::string Nested(int objects) {
  std::string text;
  for (int i = 0; i < objects; ++i) text += R"({"a":)";
  text += "1";
  for (int i = 0; i < objects; ++i) text += "}";
  return text;
}
std::string Arrays(int arrays) { return std::string(arrays, '[') + std::string(arrays, ']'); }

// One record per quirk of protobuf 3.21's JSON parser (each probed against
// the library when the walker was written).
TEST(DomToProtoDifferentialTest, ProtobufJsonQuirksConvertTheSame) {
  const std::vector<std::string> metadata_cases = {
      R"(,"type":null,"name":null)", R"(,"type":"8")", R"(,"type":"99999")", R"(,"type":8.0)",
      R"(,"type":"RUNNING")", R"(,"type":"running")", R"(,"type":true)", R"(,"type":" 8")",
      R"(,"type":"8.0")", R"(,"type":-1)", R"(,"type":1e1)", R"(,"type":2147483648)",
      R"(,"type":"zzz","type":8)", R"(,"type":8,"type":"zzz")", R"(,"type":null,"type":8)",
      R"(,"type":[8])", R"(,"type":{})", R"(,"name":[])", R"(,"name":[null])", R"(,"name":{})",
      R"(,"name":"a","name":"b")", R"(,"name":12)", R"(,"n\u0061me":"esc")",
      R"(,"type":"ACTIVITY_TYPE_RUNNING")", R"(,"upload_type":"1")",
      R"(,"type":1,"upload_type":99,"name":"x")", R"(,"zzz":)" + Nested(99),
      R"(,"zzz":)" + Nested(98), R"(,"zzz":)" + Arrays(500), R"(,"timestamp_localization":"1")",
  };
  for (const std::string& members : metadata_cases) {
    EXPECT_EQ(DiffFillers(Activity(members, "")), "") << members;
  }
  const std::vector<std::string> record_cases = {
      R"(,"device_data":{"data_provided":null})",
      R"(,"device_data":{"data_provided":["a",null,"b"]})",
      R"(,"device_data":{"data_provided":"a"})", R"(,"device_data":{"data_provided":[["a"]]})",
      R"(,"device_data":{"data_provided":[[]]})", R"(,"device_data":{"data_provided":{"a":1}})",
      R"(,"device_data":{"data_provided":[{"a":1}]})",
      R"(,"device_data":{"data_provided":["a"]},"device_data":{"data_provided":["b"]})",
      R"(,"position_data":{"center_pos_lat_lng_deg":1.5})",
      R"(,"position_data":{"center_pos_lat_lng_deg":[1.5,"2",null]})",
      R"(,"position_data":{"center_pos_lat_lng_deg":[[1],[2,[3]]]})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":1,"b":"2","c":null}})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":1,"a":2}})",
      R"(,"data_enrichment":{"efficiency_contributors":[{"a":1}]})",
      R"(,"data_enrichment":{"efficiency_contributors":null})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":{}}})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":true}})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":[1]}})",
      R"(,"data_enrichment":{"efficiency_contributors":{"":1}})",
      R"(,"data_enrichment":{"efficiency_contributors":"x"})",
      R"(,"data_enrichment":{"efficiency_contributors":{"a":1}},)"
      R"("data_enrichment":{"efficiency_contributors":{"a":2,"b":3}})",
      R"(,"energy_data":{"energy_kilojoules":"1200.5"})",
      R"(,"energy_data":{"energy_kilojoules":"NaN"})",
      R"(,"energy_data":{"energy_kilojoules":"nan"})",
      R"(,"energy_data":{"energy_kilojoules":"Infinity"})",
      R"(,"energy_data":{"energy_kilojoules":"-Infinity"})",
      R"(,"energy_data":{"energy_kilojoules":"inf"})",
      R"(,"energy_data":{"energy_kilojoules":"1e400"})",
      R"(,"energy_data":{"energy_kilojoules":"0x10"})",
      R"(,"energy_data":{"energy_kilojoules":" 1"})",
      R"(,"energy_data":{"energy_kilojoules":"1 "})",
      R"(,"energy_data":{"energy_kilojoules":"\t1"})",
      R"(,"energy_data":{"energy_kilojoules":"1\t"})",
      R"(,"energy_data":{"energy_kilojoules":""})",
      R"(,"energy_data":{"energy_kilojoules":1e400})",
      R"(,"energy_data":{"energy_kilojoules":123456789012345678901234567890})",
      R"(,"energy_data":{"energy_kilojoules":18446744073709551615})",
      R"(,"energy_data":{"energy_kilojoules":-9223372036854775809})",
      R"(,"energy_data":{"energy_kilojoules":4.9e-324})",
      R"(,"energy_data":{"energy_kilojoules":1e-400})",
      R"(,"energy_data":{"energy_kilojoules":[]})", R"(,"energy_data":{"energy_kilojoules":[1]})",
      R"(,"energy_data":{}, "energy_data":null)",
      R"(,"energy_data":{"energy_kilojoules":1},"energy_data":{"energy_kilojoules":2})",
      R"(,"energy_data":{"energy_kilojoules":1},"energy_data":{"energy_kilojoules":"x"})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":{"timestamp":"x","bpm":1}}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{"bpm":1},null]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[[{"bpm":1}]]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{}]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[1]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":"x"}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{"bpm":1,"bpm":2}]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{"bpm":1,"context":7},)"
      R"({"bpm":2,"context":"zzz"},{"context":"3"}]}})",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{"bpm":1,"zz":)" + Nested(97) + "}]}}",
      R"(,"heart_rate_data":{"detailed":{"hr_samples":[{"bpm":1,"zz":)" + Nested(96) + "}]}}",
      R"(,"METData":{},"MET_data":{})", R"(,"mETData":{})", R"(,"METADATA":{})",
      R"(,"lap_data":{"laps":[{"total_strokes":123456789012345678901234567890}]})",
      R"(,"lap_data":{"laps":[{"total_strokes":"12"},{"total_strokes":1e1}]})",
      R"(,"zzz":)" + Nested(99), R"(,"zzz":)" + Nested(100), R"(,"zzz":1e400)",
      R"(,"zzz":)" + std::string(400, '9'),
      // Found by the differential fuzzer: an empty member name.
      R"(,"energy_data":{"":1200.5})", R"(,"":1)", R"(,"energy_data":{"energy_kilojoules":1,"":2})",
  };
  for (const std::string& members : record_cases) {
    EXPECT_EQ(DiffFillers(Activity("", members)), "") << members.substr(0, 200);
  }
  const std::vector<std::string> connection_cases = {
      R"({"type":"auth","status":"success","user":{"user_id":"u","active":"yes"}})",
      R"({"type":"auth","status":"success","user":{"user_id":"u","active":" true"}})",
      R"({"type":"auth","status":"success","user":{"user_id":"u","active":1}})",
      R"({"type":"auth","status":"success","user":{"user_id":"u","provider":3}})",
      R"({"type":"auth","status":"success","user":{"user_id":"u","userId":"v"}})",
      R"({"type":"large_request_sending","expected_payloads":"12","user":{"user_id":"u"}})",
      R"({"type":"large_request_sending","expected_payloads":" 12"})",
      R"({"type":"large_request_sending","expected_payloads":"+12"})",
      R"({"type":"large_request_sending","expected_payloads":1.5})",
      R"({"type":"large_request_sending","expected_payloads":-0.0})",
      R"({"type":"s3_payload","expires_in":9007199254740993})",
      R"({"type":"s3_payload","expires_in":"9007199254740993"})",
      R"({"type":"s3_payload","expires_in":9223372036854775808})",
      R"({"type":"s3_payload","expires_in":9.3e18})",
      R"({"type":"s3_payload","expires_in":9.2233720368547758e18})",
      R"({"type":"s3_payload","expires_in":-9223372036854775808})",
      R"({"type":"s3_payload","expires_in":1e400})",
      R"({"type":"auth","status":12})", R"({"type":"auth","referenceId":"x"})",
      R"({"type":"auth","reference_id":"x","referenceId":"y"})",
      R"({"type":"user_reauth","old_user":[{"user_id":"a"}],"new_user":{"user_id":"b"}})",
      R"({"type":"user_reauth","old_user":"x","new_user":{"user_id":"b"}})",
      R"({"type":"deauth","zzz":)" + Nested(99) + "}",
      R"({"type":"deauth","zzz":)" + Nested(100) + "}",
  };
  for (const std::string& body : connection_cases) {
    EXPECT_EQ(DiffFillers(body), "") << body.substr(0, 200);
  }
}

// Found by the differential fuzzer (2026-12-03): a member without a name in
// a message inside a repeated message inside another (planned_workout's
// steps[].steps[]), with and without a nameless sibling at other levels.
TEST(DomToProtoDifferentialTest, NamelessMemberInANestedRepeatedMessageConvertsTheSame) {
  const std::vector<std::string> step_cases = {
      R"({"order":4,"":{"user_id":"x"}})",
      R"({"order":4,"":1,"durations":[{"duration_type":0,"seconds":120}]})",
      R"({"order":4,"name":"Recover","":{"user_id":"x"},"datadurati&ons":[{"secOnds":120}]})",
      R"({"":null})",
      R"({"":{}})",
      R"({"":[]})",
      R"({"":[1]})",
      R"({"":[{}]})",
      R"({"":"s"})",
      R"({"":true})",
      R"({"":1.5})",
      R"({"":{"a":{"":1}}})",
  };
  const std::vector<std::string> record_cases = {
      R"(,"":{})", R"(,"":null)", R"(,"":[])", R"(,"":[1])", R"(,"":"s")", R"(,"":{"a":1})",
      R"(,"energy_data":{"":{}})", R"(,"energy_data":{"":null})", R"(,"energy_data":{"":[]})",
      R"(,"energy_data":{"":"s"})",
  };
  for (const std::string& members : record_cases) {
    EXPECT_EQ(DiffFillers(Activity("", members)), "") << members;
  }
  for (const std::string& step : step_cases) {
    const std::string body = absl::StrCat(
        R"({"type":"planned_workout","user":{"user_id":"u"},"data":[{"planned_workout_id":"p",)",
        R"("details":{"metadata":{"id":"1"},"steps":[{"order":1,"name":"Warm up"},)",
        R"({"order":2,"type":1,"steps":[{"order":3,"intensity":3},)", step, "]}]}}]}");
    EXPECT_EQ(DiffFillers(body), "") << step;
  }
  const std::string fuzzer_input =
      ReadFile("tests/converter/testdata/planned_workout_nameless_nested_member.json");
  EXPECT_EQ(DiffFillers(fuzzer_input), "");
}

}  // namespace
}  // namespace healthwire
