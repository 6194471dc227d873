#include "tools/hwctl/record_summary.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tools/hwctl/cli_common.h"

namespace healthwire {
namespace hwctl {
namespace {

namespace terra = ::healthwire::terra;
using Fields = std::vector<std::pair<std::string, std::string>>;

// "81.5", "54": numbers as a person writes them.
std::string Number(double value) { return absl::StrFormat("%.4g", value); }

std::string Fixed(double value, int decimals) { return absl::StrFormat("%.*f", decimals, value); }

// "7h 02m", "45m 25s".
std::string HoursMinutes(double seconds) {
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  if (total >= 3600) return absl::StrFormat("%dh %02dm", total / 3600, (total % 3600) / 60);
  return absl::StrFormat("%dm %02ds", total / 60, total % 60);
}

// "running" for ACTIVITY_TYPE_RUNNING; the number for one the proto lacks.
std::string ActivityTypeName(int type) {
  const google::protobuf::EnumValueDescriptor* value =
      terra::ActivityType_descriptor()->FindValueByNumber(type);
  if (value == nullptr) return absl::StrCat("type ", type);
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, "ACTIVITY_TYPE_");
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", " "}});
}

std::string PhaseName(int phase) {
  const google::protobuf::EnumValueDescriptor* value =
      terra::MenstruationInterval_descriptor()->FindValueByNumber(phase);
  if (value == nullptr) return absl::StrCat("phase ", phase);
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, "MENSTRUATION_INTERVAL_");
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", " "}});
}

void SleepFields(const terra::Sleep& sleep, Fields* fields) {
  const auto& durations = sleep.sleep_durations_data();
  const auto& asleep = durations.asleep();
  if (asleep.has_duration_asleep_state_seconds()) {
    fields->emplace_back("asleep", HoursMinutes(asleep.duration_asleep_state_seconds()));
  }
  if (durations.has_sleep_efficiency()) {
    // Terra sends efficiency as a fraction (0.89); some providers as percent.
    const double efficiency = durations.sleep_efficiency();
    fields->emplace_back(
        "efficiency", absl::StrCat(Number(efficiency <= 1 ? efficiency * 100 : efficiency), "%"));
  }
  if (sleep.data_enrichment().has_sleep_score()) {
    fields->emplace_back("sleep score", Number(sleep.data_enrichment().sleep_score()));
  } else if (sleep.scores().has_sleep()) {
    fields->emplace_back("sleep score", Number(sleep.scores().sleep()));
  }
  const auto& hr = sleep.heart_rate_data().summary();
  if (hr.has_avg_hr_bpm())
    fields->emplace_back("avg HR", absl::StrCat(Number(hr.avg_hr_bpm()), " bpm"));
  if (hr.has_avg_hrv_rmssd()) {
    fields->emplace_back("HRV (RMSSD)", absl::StrCat(Number(hr.avg_hrv_rmssd()), " ms"));
  }
  if (asleep.has_duration_deep_sleep_state_seconds()) {
    fields->emplace_back("deep", HoursMinutes(asleep.duration_deep_sleep_state_seconds()));
  }
  if (asleep.has_duration_rem_sleep_state_seconds()) {
    fields->emplace_back("REM", HoursMinutes(asleep.duration_rem_sleep_state_seconds()));
  }
  if (asleep.has_duration_light_sleep_state_seconds()) {
    fields->emplace_back("light", HoursMinutes(asleep.duration_light_sleep_state_seconds()));
  }
  if (sleep.metadata().has_end_time()) fields->emplace_back("ends", sleep.metadata().end_time());
}

void ActivityFields(const terra::Activity& activity, Fields* fields) {
  const auto& metadata = activity.metadata();
  if (metadata.has_name()) fields->emplace_back("name", metadata.name());
  if (metadata.has_type()) fields->emplace_back("activity", ActivityTypeName(metadata.type()));
  if (activity.active_durations_data().has_activity_seconds()) {
    fields->emplace_back("duration",
                         HoursMinutes(activity.active_durations_data().activity_seconds()));
  }
  const auto& distance = activity.distance_data().summary();
  if (distance.has_distance_meters()) {
    fields->emplace_back("distance",
                         absl::StrCat(Fixed(distance.distance_meters() / 1000, 2), " km"));
  }
  if (distance.has_steps()) fields->emplace_back("steps", absl::StrCat(distance.steps()));
  if (activity.calories_data().has_total_burned_calories()) {
    fields->emplace_back(
        "calories",
        absl::StrCat(Number(activity.calories_data().total_burned_calories()), " kcal"));
  }
  const auto& hr = activity.heart_rate_data().summary();
  if (hr.has_avg_hr_bpm())
    fields->emplace_back("avg HR", absl::StrCat(Number(hr.avg_hr_bpm()), " bpm"));
  if (hr.has_max_hr_bpm())
    fields->emplace_back("max HR", absl::StrCat(Number(hr.max_hr_bpm()), " bpm"));
}

void DailyFields(const terra::Daily& daily, Fields* fields) {
  const auto& distance = daily.distance_data();
  if (distance.has_steps()) fields->emplace_back("steps", absl::StrCat(distance.steps()));
  if (distance.has_distance_meters()) {
    fields->emplace_back("distance",
                         absl::StrCat(Fixed(distance.distance_meters() / 1000, 2), " km"));
  }
  if (daily.calories_data().has_total_burned_calories()) {
    fields->emplace_back(
        "calories burned",
        absl::StrCat(Number(daily.calories_data().total_burned_calories()), " kcal"));
  }
  const auto& hr = daily.heart_rate_data().summary();
  if (hr.has_resting_hr_bpm()) {
    fields->emplace_back("resting HR", absl::StrCat(Number(hr.resting_hr_bpm()), " bpm"));
  }
  if (daily.stress_data().has_avg_stress_level()) {
    fields->emplace_back("avg stress", Number(daily.stress_data().avg_stress_level()));
  }
  if (daily.scores().has_activity())
    fields->emplace_back("activity score", Number(daily.scores().activity()));
}

void BodyFields(const terra::Body& body, Fields* fields) {
  const auto& measurements = body.measurements_data();
  if (measurements.has_day_avg_weight_kg()) {
    fields->emplace_back("weight", absl::StrCat(Number(measurements.day_avg_weight_kg()), " kg"));
  }
  if (measurements.has_day_avg_bodyfat_percentage()) {
    fields->emplace_back("body fat",
                         absl::StrCat(Number(measurements.day_avg_bodyfat_percentage()), "%"));
  }
  if (measurements.has_day_avg_bmi())
    fields->emplace_back("BMI", Number(measurements.day_avg_bmi()));
  const auto& pressure = body.blood_pressure_data();
  if (pressure.has_day_avg_systolic_bp() && pressure.has_day_avg_diastolic_bp()) {
    fields->emplace_back("blood pressure", absl::StrCat(Number(pressure.day_avg_systolic_bp()), "/",
                                                        Number(pressure.day_avg_diastolic_bp())));
  } else if (pressure.blood_pressure_samples_size() > 0) {
    const auto& last = pressure.blood_pressure_samples(pressure.blood_pressure_samples_size() - 1);
    fields->emplace_back("blood pressure", absl::StrCat(Number(last.systolic_bp()), "/",
                                                        Number(last.diastolic_bp())));
  }
  if (body.glucose_data().has_day_avg_blood_glucose_mg_per_dl()) {
    fields->emplace_back(
        "glucose",
        absl::StrCat(Number(body.glucose_data().day_avg_blood_glucose_mg_per_dl()), " mg/dL"));
  }
  if (body.temperature_data().has_day_avg_body_temperature_celsius()) {
    fields->emplace_back(
        "body temperature",
        absl::StrCat(Number(body.temperature_data().day_avg_body_temperature_celsius()), " °C"));
  }
}

void NutritionFields(const terra::Nutrition& nutrition, Fields* fields) {
  const auto& macros = nutrition.summary().macros();
  if (macros.has_calories())
    fields->emplace_back("calories", absl::StrCat(Number(macros.calories()), " kcal"));
  if (macros.has_protein_g())
    fields->emplace_back("protein", absl::StrCat(Number(macros.protein_g()), " g"));
  if (macros.has_carbohydrates_g()) {
    fields->emplace_back("carbohydrates", absl::StrCat(Number(macros.carbohydrates_g()), " g"));
  }
  if (macros.has_fat_g()) fields->emplace_back("fat", absl::StrCat(Number(macros.fat_g()), " g"));
  if (nutrition.meals_size() > 0)
    fields->emplace_back("meals", absl::StrCat(nutrition.meals_size()));
  if (nutrition.summary().has_water_ml()) {
    fields->emplace_back("water", absl::StrCat(Number(nutrition.summary().water_ml()), " ml"));
  }
}

void MenstruationFields(const terra::Menstruation& menstruation, Fields* fields) {
  const auto& data = menstruation.menstruation_data();
  if (data.has_day_in_cycle()) {
    fields->emplace_back("day in cycle",
                         data.has_cycle_length_days()
                             ? absl::StrCat(data.day_in_cycle(), " of ", data.cycle_length_days())
                             : absl::StrCat(data.day_in_cycle()));
  }
  if (data.has_current_phase()) fields->emplace_back("phase", PhaseName(data.current_phase()));
  if (data.has_period_start_date())
    fields->emplace_back("period started", data.period_start_date());
  if (data.has_ovulation_day()) fields->emplace_back("ovulation", data.ovulation_day());
}

void AthleteFields(const terra::Athlete& athlete, Fields* fields) {
  const std::string name = absl::StrJoin({athlete.first_name(), athlete.last_name()}, " ");
  if (!absl::StripAsciiWhitespace(name).empty()) {
    fields->emplace_back("name", std::string(absl::StripAsciiWhitespace(name)));
  }
  if (athlete.has_sex()) fields->emplace_back("sex", athlete.sex());
  if (athlete.has_age()) fields->emplace_back("age", absl::StrCat(athlete.age()));
  if (athlete.has_city() || athlete.has_country()) {
    fields->emplace_back("place", std::string(absl::StripAsciiWhitespace(
                                      absl::StrCat(athlete.city(), " ", athlete.country()))));
  }
}

void ConnectionFields(const terra::ConnectionEvent& connection, Fields* fields) {
  if (connection.has_status()) fields->emplace_back("status", connection.status());
  if (connection.has_message()) fields->emplace_back("message", connection.message());
  if (connection.has_reason()) fields->emplace_back("reason", connection.reason());
  if (connection.has_scopes_added())
    fields->emplace_back("scopes added", connection.scopes_added());
  if (connection.has_scopes_removed())
    fields->emplace_back("scopes removed", connection.scopes_removed());
  if (connection.has_expected_payloads()) {
    fields->emplace_back("expected payloads", absl::StrCat(connection.expected_payloads()));
  }
}

std::string TimestampText(const google::protobuf::Timestamp& timestamp) {
  const absl::Time time =
      absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

std::string UserText(const terra::TerraUser& user) {
  std::string text = user.user_id().empty() ? "(no user)" : user.user_id();
  std::vector<std::string> extras;
  if (user.has_provider()) extras.push_back(user.provider());
  if (user.has_reference_id()) extras.push_back(absl::StrCat("reference ", user.reference_id()));
  if (!extras.empty()) absl::StrAppend(&text, " (", absl::StrJoin(extras, ", "), ")");
  return text;
}

}  // namespace

Fields KeyFields(const v1::Event& event) {
  Fields fields;
  switch (event.payload_case()) {
    case v1::Event::kSleep:
      SleepFields(event.sleep(), &fields);
      break;
    case v1::Event::kActivity:
      ActivityFields(event.activity(), &fields);
      break;
    case v1::Event::kDaily:
      DailyFields(event.daily(), &fields);
      break;
    case v1::Event::kBody:
      BodyFields(event.body(), &fields);
      break;
    case v1::Event::kNutrition:
      NutritionFields(event.nutrition(), &fields);
      break;
    case v1::Event::kMenstruation:
      MenstruationFields(event.menstruation(), &fields);
      break;
    case v1::Event::kAthlete:
      AthleteFields(event.athlete(), &fields);
      break;
    case v1::Event::kPlannedWorkout: {
      const auto& details = event.planned_workout().details().metadata();
      if (details.has_name()) fields.emplace_back("name", details.name());
      if (event.planned_workout().has_planned_date()) {
        fields.emplace_back("planned for", event.planned_workout().planned_date());
      }
      break;
    }
    case v1::Event::kHormone: {
      const auto& hormone = event.hormone();
      if (hormone.has_lh_miu_per_ml())
        fields.emplace_back("LH", absl::StrCat(Number(hormone.lh_miu_per_ml()), " mIU/ml"));
      if (hormone.has_e3g_ng_per_ml())
        fields.emplace_back("E3G", absl::StrCat(Number(hormone.e3g_ng_per_ml()), " ng/ml"));
      if (hormone.has_pdg_ug_per_ml())
        fields.emplace_back("PdG", absl::StrCat(Number(hormone.pdg_ug_per_ml()), " ug/ml"));
      break;
    }
    case v1::Event::kConnection:
      ConnectionFields(event.connection(), &fields);
      break;
    case v1::Event::kErasure: {
      const v1::Erasure& erasure = event.erasure();
      if (event.type() == v1::EVENT_TYPE_ERASED) {
        fields.emplace_back("erased by revision", absl::StrCat(erasure.tombstone_revision()));
        break;
      }
      fields.emplace_back("subject sha256", erasure.subject_sha256().substr(0, 16));
      fields.emplace_back("records", absl::StrCat(erasure.records_erased()));
      fields.emplace_back("changes", absl::StrCat(erasure.changes_erased()));
      fields.emplace_back("connections", absl::StrCat(erasure.connections_erased()));
      break;
    }
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return fields;
}

std::string OneLineSummary(const v1::Event& event) {
  // The first few key fields: the line is for scanning, `latest` shows all.
  constexpr size_t kMaxFields = 5;
  std::vector<std::string> parts;
  Fields fields = KeyFields(event);
  if (fields.size() > kMaxFields) fields.resize(kMaxFields);
  for (const auto& [label, value] : fields) {
    // A name reads better without its label.
    parts.push_back(label == "name" ? value : absl::StrCat(label, " ", value));
  }
  if (event.conversion_problems_size() > 0) {
    parts.push_back(absl::StrCat(event.conversion_problems_size(), " conversion problem(s)"));
  }
  if (parts.empty()) return absl::StrCat("(", event.terra_type(), ")");
  return absl::StrJoin(parts, ", ");
}

std::string DetailedSummary(const v1::Event& event, uint64_t store_revision) {
  Fields lines;
  lines.emplace_back("user", UserText(event.user()));
  lines.emplace_back("key", event.record_key());
  if (!event.start_time().empty()) lines.emplace_back("start", event.start_time());
  for (auto& field : KeyFields(event)) lines.push_back(std::move(field));
  lines.emplace_back("revision",
                     absl::StrCat(event.revision(), " (store is at ", store_revision, ")"));
  lines.emplace_back("received", TimestampText(event.received_at()));
  if (event.has_ordering_timestamp_ms()) {
    lines.emplace_back(
        "ordering timestamp",
        absl::StrCat(event.ordering_timestamp_ms(), " (",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                      absl::FromUnixMillis(event.ordering_timestamp_ms()),
                                      absl::UTCTimeZone()),
                     ")"));
  }
  if (!event.trace_id().empty()) lines.emplace_back("trace id", event.trace_id());
  for (const v1::ConversionProblem& problem : event.conversion_problems()) {
    lines.emplace_back("conversion problem",
                       absl::StrCat(problem.field_path(), ": ", problem.reason()));
  }

  size_t width = 0;
  for (const auto& [label, value] : lines) width = std::max(width, label.size());
  std::string text = absl::StrCat(EventTypeName(event.type()), " record\n");
  for (const auto& [label, value] : lines) {
    absl::StrAppend(&text, "  ", label, ":", std::string(width - label.size() + 1, ' '), value,
                    "\n");
  }
  return text;
}

std::string RecordLine(const v1::Event& event) {
  return absl::StrCat(event.start_time().empty() ? "-" : event.start_time(), "  ",
                      event.record_key(), "  rev ", event.revision(), "  ", OneLineSummary(event));
}

std::string UpdateLine(const v1::Event& event) {
  // The record's own date: the day of its start time as Terra wrote it (the
  // user's local day), not when it reached healthwire.
  const std::string date =
      event.start_time().size() >= 10 ? event.start_time().substr(0, 10) : "-";
  const std::string received =
      event.has_received_at() ? TimestampText(event.received_at()) : std::string("-");
  return absl::StrCat("rev ", event.revision(), "  ", EventTypeName(event.type()), "  user ",
                      event.user().user_id().empty() ? "-" : event.user().user_id(), "  key ",
                      event.record_key(), "  date ", date, "  received ", received, "  ",
                      OneLineSummary(event));
}

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_enums_as_ints = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  return json;
}

}  // namespace hwctl
}  // namespace healthwire
