#include "tools/simulator/terra_payloads.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "healthwire/terra/terra.pb.h"
#include "tools/simulator/terra_webhooks.pb.h"

namespace healthwire {
namespace simulator {
namespace {

namespace terra = ::healthwire::terra;

constexpr char kTerraApiVersion[] = "2022-03-16";

// Minutes after local midnight by which any generated night's sleep (bedtime
// 22:00-00:30, at most 9 h) and any morning workout (start 06:30-08:31, at
// most 75 min) is over.
constexpr int kSleepOverBy = 9 * 60 + 31;
constexpr int kActivityOverBy = 9 * 60 + 48;
constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------
// Deterministic randomness.

// SplitMix64's finalizer: spreads a few small numbers (seed, type, index)
// into independent-looking engine seeds, so record i of a run is the same
// whatever record_count is.
uint64_t MixSeed(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (a + 1) + 0xbf58476d1ce4e5b9ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Random values from a fixed engine. The mapping to ranges is done here, not
// with std::*_distribution, whose output differs between standard libraries:
// the same seed must give the same bytes everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // In [low, high).
  double Uniform(double low, double high) { return low + (high - low) * Unit(); }
  // In [low, high], both inclusive.
  int Int(int low, int high) {
    return low + static_cast<int>(engine_() % static_cast<uint64_t>(high - low + 1));
  }
  bool Chance(double probability) { return Unit() < probability; }
  // Within `spread` of `center`, more often near it (a sum of two uniforms).
  double Around(double center, double spread) { return center + spread * (Unit() + Unit() - 1); }
  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[engine_() % values.size()];
  }
  // A random (version 4) UUID, as Terra's ids look.
  std::string Uuid() {
    uint64_t high = engine_();
    uint64_t low = engine_();
    high = (high & ~0xF000ULL) | 0x4000ULL;
    low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32, (high >> 16) & 0xFFFF,
                           high & 0xFFFF, low >> 48, low & 0xFFFFFFFFFFFFULL);
  }
  std::string Hex(int digits) {
    std::string hex;
    while (static_cast<int>(hex.size()) < digits) hex += absl::StrFormat("%016x", engine_());
    return hex.substr(0, digits);
  }

 private:
  double Unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  std::mt19937_64 engine_;
};

double Round(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

// Splits `total` into parts proportional to `weights`, rounded to `decimals`;
// the last part takes the rounding remainder so the parts add up to `total`.
std::vector<double> SplitProportionally(double total, const std::vector<double>& weights,
                                        int decimals) {
  double weight_sum = 0;
  for (double weight : weights) weight_sum += weight;
  std::vector<double> parts;
  double left = total;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double part = i + 1 == weights.size()
                            ? Round(left, decimals)
                            : std::min(left, Round(total * weights[i] / weight_sum, decimals));
    parts.push_back(std::max(0.0, part));
    left -= part;
  }
  return parts;
}

// ---------------------------------------------------------------------------
// Time.

// Terra's timestamp format: microseconds and the offset, e.g.
// 2026-07-01T07:04:11.000000+01:00.
std::string TerraTime(absl::Time time, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6S%Ez", time, zone);
}

std::string TerraDate(absl::CivilDay day) { return absl::FormatCivilTime(day); }

// Sample i of n spread evenly over [start, start + span).
absl::Time SampleTime(absl::Time start, absl::Duration span, int i, int n) {
  return start + span * (static_cast<double>(i) / n);
}

// ---------------------------------------------------------------------------
// The simulated person: constants shared by all records of one run, so a
// user's weight or cycle length does not jump from one day to the next.

struct Person {
  std::string first_name;
  std::string last_name;
  std::string sex;
  int age = 0;
  double weight_kg = 0;
  double height_cm = 0;
  double bodyfat_percentage = 0;
  double resting_hr_bpm = 0;
  double max_hr_bpm = 0;
  double bmr_calories = 0;
  std::string city;
  std::string country;
  double home_lat = 0;
  double home_lng = 0;
  int cycle_length_days = 28;
  int period_length_days = 5;
  // Days from a cycle start to `today` (0 = a cycle starts today).
  int cycle_offset_days = 0;
};

struct Place {
  const char* city;
  const char* country;
  double lat;
  double lng;
};

Person MakePerson(Random& random) {
  Person person;
  const bool female = random.Chance(0.5);
  person.sex = female ? "female" : "male";
  person.first_name = female ? random.Pick(std::vector<std::string>{"Amara", "Sofia", "Mei",
                                                                    "Ingrid", "Priya", "Lucia"})
                             : random.Pick(std::vector<std::string>{"Tomasz", "Kenji", "Daniel",
                                                                    "Omar", "Lars", "Mateo"});
  person.last_name = random.Pick(
      std::vector<std::string>{"Okafor", "Nakamura", "Lindqvist", "Kowalski", "Haddad", "Moreau"});
  person.age = random.Int(22, 64);
  person.height_cm = Round(female ? random.Around(166, 9) : random.Around(179, 10), 1);
  const double bmi = random.Around(23.5, 3);
  person.weight_kg = Round(bmi * (person.height_cm / 100) * (person.height_cm / 100), 1);
  person.bodyfat_percentage = Round(female ? random.Around(26, 5) : random.Around(18, 5), 1);
  person.resting_hr_bpm = std::round(random.Around(56, 7));
  person.max_hr_bpm = std::round(208 - 0.7 * person.age);
  // Mifflin-St Jeor.
  person.bmr_calories = std::round(10 * person.weight_kg + 6.25 * person.height_cm -
                                   5 * person.age + (female ? -161 : 5));
  static const std::vector<Place>* const kPlaces =
      new std::vector<Place>{{"London", "GB", 51.5074, -0.1278},
                             {"Berlin", "DE", 52.52, 13.405},
                             {"Lisbon", "PT", 38.7223, -9.1393},
                             {"Toronto", "CA", 43.6532, -79.3832},
                             {"Melbourne", "AU", -37.8136, 144.9631}};
  const Place& place = random.Pick(*kPlaces);
  person.city = place.city;
  person.country = place.country;
  person.home_lat = place.lat;
  person.home_lng = place.lng;
  person.cycle_length_days = random.Int(26, 31);
  person.period_length_days = random.Int(4, 6);
  person.cycle_offset_days = random.Int(0, person.cycle_length_days - 1);
  return person;
}

// ---------------------------------------------------------------------------
// Pieces shared by several record types.

struct RecordContext {
  Random* random;
  const Person* person;
  absl::TimeZone zone;
  absl::CivilDay day;  // the record's local day
  int samples;         // size of every sample array
  const std::string* provider;
  absl::Time now;  // nothing generated may lie after it
};

// The part of [from, from + span) that is not in the future, for samples of
// today's records: clipped at `now`; when `from` itself is still ahead (a
// body measurement window at 07:00 when it is 06:00), the time since local
// midnight instead.
std::pair<absl::Time, absl::Duration> PastWindow(absl::Time from, absl::Duration span,
                                                 absl::Time day_start, absl::Time now) {
  if (from + span <= now) return {from, span};
  if (from < now) return {from, now - from};
  return {day_start, std::max(absl::ZeroDuration(), now - day_start)};
}

void FillDevice(const std::string& provider, terra::DeviceData* device) {
  if (provider == "OURA") {
    device->set_name("Oura Ring Gen3");
    device->set_manufacturer("Oura");
  } else if (provider == "GARMIN") {
    device->set_name("Forerunner 265");
    device->set_manufacturer("Garmin");
    device->set_software_version("19.18");
  } else {
    device->set_name("Simulated wearable");
    device->set_manufacturer(provider);
  }
}

// The local midnight that starts `day` and the last microsecond of it, as
// Terra bounds daily records.
std::pair<absl::Time, absl::Time> DayBounds(absl::CivilDay day, absl::TimeZone zone) {
  const absl::Time start = absl::FromCivil(day, zone);
  return {start, absl::FromCivil(day + 1, zone) - absl::Microseconds(1)};
}

// Heart-rate samples around `center` with a slow wave and noise.
void FillHeartRateSamples(const RecordContext& c, absl::Time start, absl::Duration span,
                          double center, double wave, bool with_timer, terra::HeartRateData* hr) {
  Random& random = *c.random;
  auto* detailed = hr->mutable_detailed();
  double sum = 0, low = 1e9, high = 0;
  for (int i = 0; i < c.samples; ++i) {
    const double progress = static_cast<double>(i) / c.samples;
    const double bpm =
        std::round(center + wave * std::sin(2 * kPi * progress) + random.Around(0, 3));
    terra::HeartRateDataSample* sample = detailed->add_hr_samples();
    sample->set_timestamp(TerraTime(SampleTime(start, span, i, c.samples), c.zone));
    sample->set_bpm(bpm);
    if (with_timer) {
      sample->set_timer_duration_seconds(std::round(absl::ToDoubleSeconds(span) * progress));
      sample->set_context(terra::HEART_RATE_CONTEXT_ACTIVE);
    }
    sum += bpm;
    low = std::min(low, bpm);
    high = std::max(high, bpm);
  }
  auto* summary = hr->mutable_summary();
  if (c.samples > 0) {
    summary->set_avg_hr_bpm(Round(sum / c.samples, 1));
    summary->set_min_hr_bpm(low);
    summary->set_max_hr_bpm(high);
  } else {
    summary->set_avg_hr_bpm(Round(center, 1));
    summary->set_min_hr_bpm(std::round(center - std::abs(wave)));
    summary->set_max_hr_bpm(std::round(center + std::abs(wave)));
  }
}

// ---------------------------------------------------------------------------
// Sleep: the night that ends on the morning of c.day.

terra::Sleep SimulateSleep(const RecordContext& c) {
  Random& random = *c.random;
  const Person& person = *c.person;
  terra::Sleep sleep;

  const absl::CivilMinute bedtime = absl::CivilMinute(c.day - 1) + 22 * 60 + random.Int(0, 150);
  const absl::Time start = absl::FromCivil(bedtime, c.zone) + absl::Seconds(random.Int(0, 59));
  // At most 9 h from 00:30: every night is over by 09:30 (kSleepOverBy).
  const double in_bed = std::round(random.Uniform(6.5 * 3600, 9 * 3600) / 30) * 30;
  const absl::Time end = start + absl::Seconds(in_bed);
  const double efficiency = Round(random.Uniform(0.82, 0.95), 2);
  const double asleep = std::round(in_bed * efficiency / 30) * 30;
  const double awake = in_bed - asleep;
  const double deep = std::round(asleep * random.Uniform(0.13, 0.22) / 30) * 30;
  const double rem = std::round(asleep * random.Uniform(0.18, 0.26) / 30) * 30;
  const double light = asleep - deep - rem;
  const double latency = std::min(std::round(random.Uniform(4, 25)) * 60, std::round(awake * 0.6));

  auto* metadata = sleep.mutable_metadata();
  metadata->set_summary_id(random.Uuid());
  metadata->set_start_time(TerraTime(start, c.zone));
  metadata->set_end_time(TerraTime(end, c.zone));
  metadata->set_is_nap(false);
  metadata->set_upload_type(terra::SLEEP_UPLOAD_TYPE_AUTOMATIC);
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);

  auto* durations = sleep.mutable_sleep_durations_data();
  durations->set_sleep_efficiency(efficiency);
  auto* asleep_data = durations->mutable_asleep();
  asleep_data->set_duration_asleep_state_seconds(asleep);
  asleep_data->set_duration_deep_sleep_state_seconds(deep);
  asleep_data->set_duration_light_sleep_state_seconds(light);
  asleep_data->set_duration_rem_sleep_state_seconds(rem);
  asleep_data->set_num_rem_events(random.Int(3, 6));
  auto* awake_data = durations->mutable_awake();
  awake_data->set_duration_awake_state_seconds(awake);
  awake_data->set_sleep_latency_seconds(latency);
  awake_data->set_wake_up_latency_seconds(random.Int(0, 12) * 60);
  awake_data->set_num_wakeup_events(random.Int(1, 5));
  awake_data->set_num_out_of_bed_events(random.Int(0, 2));
  auto* other = durations->mutable_other();
  other->set_duration_in_bed_seconds(in_bed);
  other->set_duration_unmeasurable_sleep_seconds(0);
  // ~90-minute cycles: light, deep (mostly early in the night), light, REM.
  for (int i = 0; i < c.samples; ++i) {
    const double elapsed = in_bed * i / c.samples;
    const double phase = std::fmod(elapsed, 90 * 60.0) / (90 * 60.0);
    terra::SleepLevel level = terra::SLEEP_LEVEL_LIGHT_SLEEP;
    if (i == 0 || random.Chance(0.06)) {
      level = terra::SLEEP_LEVEL_AWAKE;
    } else if (phase >= 0.15 && phase < 0.45) {
      level =
          elapsed < in_bed * 0.6 ? terra::SLEEP_LEVEL_DEEP_SLEEP : terra::SLEEP_LEVEL_LIGHT_SLEEP;
    } else if (phase >= 0.75) {
      level = terra::SLEEP_LEVEL_REM_SLEEP;
    }
    auto* sample = durations->add_hypnogram_samples();
    sample->set_timestamp(
        TerraTime(SampleTime(start, absl::Seconds(in_bed), i, c.samples), c.zone));
    sample->set_level(level);
  }

  auto* hr = sleep.mutable_heart_rate_data();
  FillHeartRateSamples(c, start, absl::Seconds(in_bed), person.resting_hr_bpm + 3, -3,
                       /*with_timer=*/false, hr);
  hr->mutable_summary()->set_resting_hr_bpm(person.resting_hr_bpm - 2);
  double hrv_sum = 0;
  for (int i = 0; i < c.samples; ++i) {
    const double hrv = std::round(random.Around(58, 18));
    auto* sample = hr->mutable_detailed()->add_hrv_samples_rmssd();
    sample->set_timestamp(
        TerraTime(SampleTime(start, absl::Seconds(in_bed), i, c.samples), c.zone));
    sample->set_hrv_rmssd(hrv);
    hrv_sum += hrv;
  }
  hr->mutable_summary()->set_avg_hrv_rmssd(c.samples > 0 ? Round(hrv_sum / c.samples, 1)
                                                         : std::round(random.Around(58, 12)));

  auto* respiration = sleep.mutable_respiration_data();
  auto* breaths = respiration->mutable_breaths_data();
  breaths->set_start_time(TerraTime(start, c.zone));
  breaths->set_end_time(TerraTime(end, c.zone));
  breaths->set_on_demand_reading(false);
  const double breath_rate = random.Around(14.5, 2);
  breaths->set_avg_breaths_per_min(Round(breath_rate, 2));
  breaths->set_min_breaths_per_min(Round(breath_rate - random.Uniform(1.5, 3), 1));
  breaths->set_max_breaths_per_min(Round(breath_rate + random.Uniform(1.5, 4), 1));
  auto* oxygen = respiration->mutable_oxygen_saturation_data();
  oxygen->set_start_time(TerraTime(start, c.zone));
  oxygen->set_end_time(TerraTime(end, c.zone));
  oxygen->set_avg_saturation_percentage(Round(random.Around(96.5, 1.5), 1));
  auto* snoring = respiration->mutable_snoring_data();
  snoring->set_start_time(TerraTime(start, c.zone));
  snoring->set_end_time(TerraTime(end, c.zone));
  snoring->set_num_snoring_events(c.samples);
  double snoring_total = 0;
  for (int i = 0; i < c.samples; ++i) {
    const absl::Time at = SampleTime(start, absl::Seconds(in_bed), i, c.samples);
    auto* breath = breaths->add_samples();
    breath->set_timestamp(TerraTime(at, c.zone));
    breath->set_breaths_per_min(Round(breath_rate + random.Around(0, 1.5), 1));
    auto* saturation = oxygen->add_samples();
    saturation->set_timestamp(TerraTime(at, c.zone));
    saturation->set_percentage(std::round(random.Around(96.5, 2.5)));
    saturation->set_type(terra::OXYGEN_SATURATION_TYPE_BLOOD);
    auto* snore = snoring->add_samples();
    snore->set_timestamp(TerraTime(at, c.zone));
    const double snore_seconds = random.Int(5, 90);
    snore->set_duration_seconds(snore_seconds);
    snoring_total += snore_seconds;
  }
  snoring->set_total_snoring_duration_seconds(snoring_total);

  const double score = std::round(50 + 45 * (efficiency - 0.8) / 0.15 * random.Uniform(0.8, 1.0));
  sleep.mutable_scores()->set_sleep(score);
  sleep.mutable_readiness_data()->set_readiness(random.Int(55, 95));
  sleep.mutable_readiness_data()->set_recovery_level(random.Int(1, 5));
  sleep.mutable_temperature_data()->set_delta(Round(random.Around(0, 0.4), 2));
  auto* enrichment = sleep.mutable_data_enrichment();
  enrichment->set_sleep_score(Round(score + random.Around(0, 3), 1));
  auto& contributors = *enrichment->mutable_sleep_contributors();
  contributors["duration"] = Round(std::min(1.0, asleep / (8 * 3600)), 2);
  contributors["efficiency"] = efficiency;
  contributors["deep_sleep"] = Round(std::min(1.0, deep / (1.5 * 3600)), 2);
  contributors["rem_sleep"] = Round(std::min(1.0, rem / (1.75 * 3600)), 2);
  FillDevice(*c.provider, sleep.mutable_device_data());
  return sleep;
}

// ---------------------------------------------------------------------------
// Activity: one workout on c.day.

struct ActivityKind {
  terra::ActivityType type;
  const char* name;
  double speed_low, speed_high;  // m/s; 0 for stationary activities
  double hr_low, hr_high;
  double met;
  bool outdoor;
  bool on_foot;
  bool cycling;
  bool swimming;
};

const std::vector<ActivityKind>& ActivityKinds() {
  static const std::vector<ActivityKind>* const kinds = new std::vector<ActivityKind>{
      {terra::ACTIVITY_TYPE_RUNNING, "Run", 2.6, 3.6, 140, 165, 9.8, true, true, false, false},
      {terra::ACTIVITY_TYPE_WALKING, "Walk", 1.2, 1.6, 95, 115, 3.5, true, true, false, false},
      {terra::ACTIVITY_TYPE_ROAD_BIKING, "Ride", 5.5, 8.5, 125, 150, 8.0, true, false, true, false},
      {terra::ACTIVITY_TYPE_HIKING, "Hike", 1.0, 1.4, 110, 130, 6.0, true, true, false, false},
      {terra::ACTIVITY_TYPE_SWIMMING_IN_POOL, "Pool Swim", 0.6, 1.0, 120, 145, 8.0, false, false,
       false, true},
      {terra::ACTIVITY_TYPE_STRENGTH_TRAINING, "Strength", 0, 0, 100, 125, 5.0, false, false, false,
       false},
      {terra::ACTIVITY_TYPE_YOGA, "Yoga", 0, 0, 80, 95, 2.5, false, false, false, false},
  };
  return *kinds;
}

// The shape of one workout, drawn before any of it is written: what kind, when,
// how long, how fast, how hard. Every later step derives its values from it.
struct ActivityPlan {
  const ActivityKind* kind;
  bool morning;
  absl::Time start;
  absl::Duration span;
  absl::Time end;
  double duration;  // seconds
  double speed;     // m/s; 0 for stationary activities
  double distance;  // meters
  double avg_hr;
  double calories;  // net, for the activity
  double bmr_part;  // basal calories during the activity
  double cadence;   // steps or pedal strokes per minute; 0 when not counted
  double steps;
};

// Draws the plan. The order of the random draws here and in the steps below
// is the generator's output: changing it changes every activity's bytes.
ActivityPlan PlanActivity(const RecordContext& c) {
  Random& random = *c.random;
  const Person& person = *c.person;
  ActivityPlan plan;
  plan.kind = &random.Pick(ActivityKinds());
  const ActivityKind& kind = *plan.kind;

  // Morning workouts start 06:30-08:31 and evening ones 17:30-19:31, and
  // last at most 75 minutes: they are over by 09:47 / 20:47. Today's evening
  // workout only once that has passed (the morning one: see kActivityOverBy).
  plan.morning = random.Chance(0.5);
  const absl::CivilMinute local_now = absl::ToCivilMinute(c.now, c.zone);
  if (absl::CivilDay(local_now) == c.day &&
      local_now.hour() * 60 + local_now.minute() < 20 * 60 + 48) {
    plan.morning = true;
  }
  const absl::CivilMinute start_minute =
      absl::CivilMinute(c.day) + (plan.morning ? 6 * 60 + 30 : 17 * 60 + 30) + random.Int(0, 120);
  plan.start = absl::FromCivil(start_minute, c.zone) + absl::Seconds(random.Int(0, 59));
  plan.duration = std::round(random.Uniform(25 * 60, 75 * 60));
  plan.span = absl::Seconds(plan.duration);
  plan.end = plan.start + plan.span;
  plan.speed = kind.speed_high > 0 ? random.Uniform(kind.speed_low, kind.speed_high) : 0;
  plan.distance = Round(plan.speed * plan.duration, 1);
  plan.avg_hr = std::round(random.Uniform(kind.hr_low, kind.hr_high));
  plan.calories = Round(kind.met * person.weight_kg * plan.duration / 3600, 1);
  plan.bmr_part = Round(person.bmr_calories * plan.duration / 86400, 1);
  plan.cadence = kind.on_foot ? (kind.type == terra::ACTIVITY_TYPE_RUNNING ? 166 : 108)
                              : (kind.cycling ? 86 : 0);
  plan.steps = kind.on_foot
                   ? std::round(plan.cadence * plan.duration / 60 * random.Uniform(0.95, 1.02))
                   : 0;
  return plan;
}

void FillActivityMetadata(const RecordContext& c, const ActivityPlan& plan,
                          terra::Activity* activity) {
  const ActivityKind& kind = *plan.kind;
  auto* metadata = activity->mutable_metadata();
  metadata->set_summary_id(c.random->Uuid());
  metadata->set_name(absl::StrCat(plan.morning ? "Morning " : "Evening ", kind.name));
  metadata->set_type(kind.type);
  metadata->set_upload_type(terra::UPLOAD_TYPE_AUTOMATIC);
  metadata->set_start_time(TerraTime(plan.start, c.zone));
  metadata->set_end_time(TerraTime(plan.end, c.zone));
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);
  if (kind.outdoor) {
    metadata->set_city(c.person->city);
    metadata->set_country(c.person->country);
  }
}

// Active durations, calorie totals, heart rate (samples and zones) and the
// MET summary. Returns the seconds of vigorous intensity, which the samples
// follow.
double FillActivityEffort(const RecordContext& c, const ActivityPlan& plan,
                          terra::Activity* activity) {
  Random& random = *c.random;
  const Person& person = *c.person;
  const double duration = plan.duration;

  auto* active = activity->mutable_active_durations_data();
  active->set_activity_seconds(duration);
  const double vigorous = std::round(duration * random.Uniform(0.2, 0.6));
  active->set_vigorous_intensity_seconds(vigorous);
  active->set_moderate_intensity_seconds(duration - vigorous);

  auto* calories_data = activity->mutable_calories_data();
  calories_data->set_bmr_calories(person.bmr_calories);
  calories_data->set_total_burned_calories(Round(plan.calories + plan.bmr_part, 1));
  calories_data->set_net_activity_calories(plan.calories);

  auto* hr = activity->mutable_heart_rate_data();
  FillHeartRateSamples(c, plan.start, plan.span, plan.avg_hr, 8, /*with_timer=*/true, hr);
  hr->mutable_summary()->set_resting_hr_bpm(person.resting_hr_bpm);
  hr->mutable_summary()->set_user_max_hr_bpm(person.max_hr_bpm);
  static const std::vector<std::pair<const char*, double>>* const kZones =
      new std::vector<std::pair<const char*, double>>{
          {"Warm up", 50}, {"Easy", 60}, {"Aerobic", 70}, {"Threshold", 80}, {"Maximum", 90}};
  double zone_left = duration;
  for (int zone = 1; zone <= 5; ++zone) {
    auto* data = hr->mutable_summary()->add_hr_zone_data();
    data->set_zone(zone);
    data->set_name((*kZones)[zone - 1].first);
    data->set_start_percentage((*kZones)[zone - 1].second);
    data->set_end_percentage((*kZones)[zone - 1].second + 10);
    const double seconds =
        zone == 5 ? zone_left : std::round(zone_left * random.Uniform(0.1, 0.45));
    data->set_duration_seconds(seconds);
    zone_left -= seconds;
  }

  auto* met = activity->mutable_met_data();
  met->set_avg_level(Round(plan.kind->met * random.Uniform(0.9, 1.1), 1));
  met->set_num_high_intensity_minutes(std::round(vigorous / 60));
  met->set_num_moderate_intensity_minutes(std::round((duration - vigorous) / 60));
  met->set_num_low_intensity_minutes(0);
  met->set_num_inactive_minutes(0);
  return vigorous;
}

// Distance, steps, elevation, laps and speed summaries, for activities that
// move (distance > 0).
void FillActivityDistanceSummary(const RecordContext& c, const ActivityPlan& plan,
                                 terra::Activity* activity) {
  if (plan.distance <= 0) return;
  Random& random = *c.random;
  const ActivityKind& kind = *plan.kind;
  const double distance = plan.distance;
  auto* summary = activity->mutable_distance_data()->mutable_summary();
  summary->set_distance_meters(distance);
  if (plan.steps > 0) summary->set_steps(static_cast<int32_t>(plan.steps));
  if (kind.outdoor) {
    auto* elevation = summary->mutable_elevation();
    const double gain = Round(distance / 1000 * random.Uniform(3, 15), 1);
    elevation->set_gain_actual_meters(gain);
    elevation->set_loss_actual_meters(Round(gain * random.Uniform(0.9, 1.0), 1));
    elevation->set_min_meters(Round(random.Uniform(5, 40), 1));
    elevation->set_max_meters(Round(elevation->min_meters() + gain / 2 + random.Uniform(2, 20), 1));
    elevation->set_avg_meters(Round((elevation->min_meters() + elevation->max_meters()) / 2, 1));
  }
  if (kind.swimming) {
    auto* swimming = summary->mutable_swimming();
    swimming->set_pool_length_meters(25);
    swimming->set_num_laps(static_cast<int32_t>(distance / 25));
    swimming->set_num_strokes(static_cast<int32_t>(distance / 25 * random.Uniform(14, 20)));
  }
  auto* movement = activity->mutable_movement_data();
  movement->set_avg_speed_meters_per_second(Round(plan.speed, 2));
  movement->set_max_speed_meters_per_second(Round(plan.speed * random.Uniform(1.15, 1.4), 2));
  movement->set_avg_pace_minutes_per_kilometer(Round(1000 / plan.speed / 60, 2));
  if (plan.cadence > 0) movement->set_avg_cadence_rpm(plan.cadence);
}

// Sample i of c.samples of every per-sample array the activity has (calories,
// MET, intensity, distance, steps, speed, cadence, position, elevation,
// power), all at the same instant. One sample of every array at a time, in
// this order, because that is the order of the random draws.
void AddActivitySample(const RecordContext& c, const ActivityPlan& plan, double vigorous, int i,
                       double calorie_part, terra::Activity* activity) {
  Random& random = *c.random;
  const ActivityKind& kind = *plan.kind;
  const double duration = plan.duration;
  const double distance = plan.distance;
  const double elapsed = duration * (i + 1) / c.samples;
  const std::string at = TerraTime(plan.start + absl::Seconds(elapsed), c.zone);
  const double progress = static_cast<double>(i + 1) / c.samples;

  auto* calorie = activity->mutable_calories_data()->add_calorie_samples();
  calorie->set_timestamp(at);
  calorie->set_calories(calorie_part);
  calorie->set_timer_duration_seconds(std::round(elapsed));

  auto* level = activity->mutable_met_data()->add_met_samples();
  level->set_timestamp(at);
  level->set_level(Round(kind.met * random.Uniform(0.8, 1.2), 1));

  auto* intensity = activity->mutable_active_durations_data()->add_activity_levels_samples();
  intensity->set_timestamp(at);
  intensity->set_activity_level(random.Chance(vigorous / duration)
                                    ? terra::ACTIVITY_LEVEL_HIGH_INTENSITY
                                    : terra::ACTIVITY_LEVEL_MEDIUM_INTENSITY);
  intensity->set_timer_duration_seconds(std::round(elapsed));

  if (distance > 0) {
    auto* detailed = activity->mutable_distance_data()->mutable_detailed();
    auto* distance_sample = detailed->add_distance_samples();
    distance_sample->set_timestamp(at);
    distance_sample->set_distance_meters(Round(distance * progress, 1));
    distance_sample->set_timer_duration_seconds(std::round(elapsed));
    if (plan.steps > 0) {
      auto* step = detailed->add_step_samples();
      step->set_timestamp(at);
      step->set_steps(std::round(plan.steps * progress));
      step->set_timer_duration_seconds(std::round(elapsed));
    }
    auto* movement = activity->mutable_movement_data();
    auto* speed_sample = movement->add_speed_samples();
    speed_sample->set_timestamp(at);
    speed_sample->set_speed_meters_per_second(Round(plan.speed * random.Uniform(0.85, 1.15), 2));
    speed_sample->set_timer_duration_seconds(std::round(elapsed));
    if (plan.cadence > 0) {
      auto* cadence_sample = movement->add_cadence_samples();
      cadence_sample->set_timestamp(at);
      cadence_sample->set_cadence_rpm(std::round(plan.cadence * random.Uniform(0.93, 1.07)));
      cadence_sample->set_timer_duration_seconds(std::round(elapsed));
    }
  }
  if (kind.outdoor) {
    // A loop out from home and back.
    const Person& person = *c.person;
    const double angle = 2 * kPi * progress;
    const double radius_deg = distance / (2 * kPi) / 111320;
    auto* position = activity->mutable_position_data()->add_position_samples();
    position->set_timestamp(at);
    position->add_coords_lat_lng_deg(Round(person.home_lat + radius_deg * std::sin(angle), 6));
    position->add_coords_lat_lng_deg(
        Round(person.home_lng + radius_deg * (1 - std::cos(angle)), 6));
    position->set_timer_duration_seconds(std::round(elapsed));
    auto* elevation =
        activity->mutable_distance_data()->mutable_detailed()->add_elevation_samples();
    elevation->set_timestamp(at);
    elevation->set_elev_meters(Round(
        activity->distance_data().summary().elevation().avg_meters() + random.Around(0, 8), 1));
    elevation->set_timer_duration_seconds(std::round(elapsed));
  }
  if (kind.cycling) {
    auto* power = activity->mutable_power_data()->add_power_samples();
    power->set_timestamp(at);
    power->set_watts(std::round(random.Around(185, 60)));
    power->set_timer_duration_seconds(std::round(elapsed));
  }
}

// Every sample array; the calories of the samples add up to the net total.
void AddActivitySamples(const RecordContext& c, const ActivityPlan& plan, double vigorous,
                        terra::Activity* activity) {
  std::vector<double> calorie_weights;
  for (int i = 0; i < c.samples; ++i) calorie_weights.push_back(c.random->Uniform(0.8, 1.2));
  const std::vector<double> calorie_parts = SplitProportionally(plan.calories, calorie_weights, 1);
  for (int i = 0; i < c.samples; ++i) {
    AddActivitySample(c, plan, vigorous, i, calorie_parts[i], activity);
  }
}

// Start/end/center positions, power and work, VO2max, strain and the device.
void FillActivityTotals(const RecordContext& c, const ActivityPlan& plan,
                        terra::Activity* activity) {
  Random& random = *c.random;
  const Person& person = *c.person;
  const ActivityKind& kind = *plan.kind;
  if (kind.outdoor) {
    auto* position = activity->mutable_position_data();
    position->add_start_pos_lat_lng_deg(Round(person.home_lat, 6));
    position->add_start_pos_lat_lng_deg(Round(person.home_lng, 6));
    position->add_end_pos_lat_lng_deg(Round(person.home_lat, 6));
    position->add_end_pos_lat_lng_deg(Round(person.home_lng, 6));
    position->add_center_pos_lat_lng_deg(Round(person.home_lat, 6));
    position->add_center_pos_lat_lng_deg(
        Round(person.home_lng + plan.distance / (2 * kPi) / 111320, 6));
  }
  if (kind.cycling) {
    auto* power = activity->mutable_power_data();
    power->set_avg_watts(std::round(random.Around(185, 30)));
    power->set_max_watts(std::round(power->avg_watts() * random.Uniform(1.8, 2.6)));
    activity->mutable_work_data()->set_work_kilojoules(
        Round(power->avg_watts() * plan.duration / 1000, 1));
  }
  if (kind.type == terra::ACTIVITY_TYPE_RUNNING) {
    activity->mutable_oxygen_data()->set_vo2max_ml_per_min_per_kg(
        std::round(random.Around(47, 6)));
  }
  activity->mutable_strain_data()->set_strain_level(Round(random.Uniform(5, 18), 1));
  FillDevice(*c.provider, activity->mutable_device_data());
}

terra::Activity SimulateActivity(const RecordContext& c) {
  const ActivityPlan plan = PlanActivity(c);
  terra::Activity activity;
  FillActivityMetadata(c, plan, &activity);
  const double vigorous = FillActivityEffort(c, plan, &activity);
  FillActivityDistanceSummary(c, plan, &activity);
  AddActivitySamples(c, plan, vigorous, &activity);
  FillActivityTotals(c, plan, &activity);
  return activity;
}

// ---------------------------------------------------------------------------
// Daily: the whole of c.day.

terra::Daily SimulateDaily(const RecordContext& c) {
  Random& random = *c.random;
  const Person& person = *c.person;
  terra::Daily daily;
  const auto [start, end] = DayBounds(c.day, c.zone);
  // Today's record covers the day so far.
  const auto [first, span] = PastWindow(start, absl::Hours(24), start, c.now);

  auto* metadata = daily.mutable_metadata();
  metadata->set_start_time(TerraTime(start, c.zone));
  metadata->set_end_time(TerraTime(std::min(end, c.now), c.zone));
  metadata->set_upload_type(terra::UPLOAD_TYPE_AUTOMATIC);
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);

  const double steps = std::round(random.Uniform(4000, 15000));
  const double distance = Round(steps * random.Uniform(0.7, 0.8), 1);
  auto* distance_data = daily.mutable_distance_data();
  distance_data->set_steps(static_cast<int32_t>(steps));
  distance_data->set_distance_meters(distance);
  distance_data->set_floors_climbed(random.Int(2, 20));
  distance_data->mutable_elevation()->set_gain_actual_meters(Round(random.Uniform(10, 90), 1));

  const double active_calories = std::round(steps * 0.045 + random.Uniform(100, 400));
  auto* calories = daily.mutable_calories_data();
  calories->set_bmr_calories(person.bmr_calories);
  calories->set_net_activity_calories(active_calories);
  calories->set_total_burned_calories(person.bmr_calories + active_calories);

  const double activity_seconds = std::round(steps / 110 * 60);
  const double vigorous = std::round(activity_seconds * random.Uniform(0.05, 0.25));
  const double moderate = std::round(activity_seconds * random.Uniform(0.2, 0.4));
  auto* active = daily.mutable_active_durations_data();
  active->set_activity_seconds(activity_seconds);
  active->set_vigorous_intensity_seconds(vigorous);
  active->set_moderate_intensity_seconds(moderate);
  active->set_low_intensity_seconds(activity_seconds - vigorous - moderate);
  active->set_rest_seconds(std::round(random.Uniform(6.5, 8.5) * 3600));
  active->set_inactivity_seconds(86400 - activity_seconds - active->rest_seconds());
  active->set_num_continuous_inactive_periods(random.Int(1, 6));

  auto* hr = daily.mutable_heart_rate_data();
  FillHeartRateSamples(c, first, span, person.resting_hr_bpm + 16, 14, /*with_timer=*/false, hr);
  hr->mutable_summary()->set_resting_hr_bpm(person.resting_hr_bpm);

  auto* met = daily.mutable_met_data();
  met->set_avg_level(Round(random.Uniform(1.3, 1.9), 1));
  met->set_num_high_intensity_minutes(std::round(vigorous / 60));
  met->set_num_moderate_intensity_minutes(std::round(moderate / 60));
  met->set_num_low_intensity_minutes(std::round((activity_seconds - vigorous - moderate) / 60));
  met->set_num_inactive_minutes(std::round(active->inactivity_seconds() / 60));

  auto* stress = daily.mutable_stress_data();
  const double avg_stress = std::round(random.Uniform(18, 45));
  stress->set_avg_stress_level(avg_stress);
  stress->set_max_stress_level(std::round(std::min(99.0, avg_stress + random.Uniform(30, 55))));
  stress->set_rest_stress_duration_seconds(std::round(random.Uniform(6, 9) * 3600));
  stress->set_low_stress_duration_seconds(std::round(random.Uniform(3, 6) * 3600));
  stress->set_medium_stress_duration_seconds(std::round(random.Uniform(1, 3) * 3600));
  stress->set_high_stress_duration_seconds(std::round(random.Uniform(0.1, 1) * 3600));
  stress->set_stress_rating(avg_stress < 26 ? terra::STRESS_LEVEL_LOW : terra::STRESS_LEVEL_MEDIUM);

  // Movement happens in the day, not at night.
  auto awake_weight_of = [&, first = first, span = span](int i) {
    const double hour = absl::ToDoubleHours(first - start + span * i / c.samples);
    return hour >= 7 && hour < 22 ? 1.0 : 0.05;
  };
  std::vector<double> movement_weights;
  for (int i = 0; i < c.samples; ++i) {
    movement_weights.push_back(awake_weight_of(i) * random.Uniform(0.5, 1.1));
  }
  const std::vector<double> step_parts = SplitProportionally(steps, movement_weights, 0);
  const std::vector<double> calorie_parts =
      SplitProportionally(active_calories, movement_weights, 1);
  double battery = random.Uniform(75, 100);
  for (int i = 0; i < c.samples; ++i) {
    const std::string at = TerraTime(SampleTime(first, span, i, c.samples), c.zone);
    const double interval_seconds = std::round(absl::ToDoubleSeconds(span) / c.samples);
    const double awake_weight = awake_weight_of(i);

    auto* step = distance_data->mutable_detailed()->add_step_samples();
    step->set_timestamp(at);
    step->set_steps(step_parts[i]);
    step->set_timer_duration_seconds(interval_seconds);

    auto* calorie = calories->add_calorie_samples();
    calorie->set_timestamp(at);
    calorie->set_calories(calorie_parts[i]);
    calorie->set_timer_duration_seconds(interval_seconds);

    auto* level = met->add_met_samples();
    level->set_timestamp(at);
    level->set_level(
        Round(awake_weight > 0.5 ? random.Uniform(1.2, 3.5) : random.Uniform(0.9, 1.1), 1));

    auto* intensity = active->add_activity_levels_samples();
    intensity->set_timestamp(at);
    intensity->set_activity_level(awake_weight > 0.5 ? terra::ACTIVITY_LEVEL_LOW_INTENSITY
                                                     : terra::ACTIVITY_LEVEL_REST);
    intensity->set_timer_duration_seconds(interval_seconds);

    auto* stress_sample = stress->add_samples();
    stress_sample->set_timestamp(at);
    stress_sample->set_level(std::round(std::max(0.0, avg_stress + random.Around(0, 20))));

    auto* battery_sample = stress->add_body_battery_samples();
    battery_sample->set_timestamp(at);
    battery_sample->set_level(std::round(battery));
    battery = std::max(5.0, battery - 70.0 / c.samples * random.Uniform(0.5, 1.5));
  }

  daily.mutable_oxygen_data()->set_avg_saturation_percentage(Round(random.Around(96.5, 1.5), 1));
  auto* scores = daily.mutable_scores();
  scores->set_activity(random.Int(50, 99));
  scores->set_recovery(random.Int(40, 99));
  scores->set_sleep(random.Int(55, 95));
  daily.mutable_strain_data()->set_strain_level(Round(random.Uniform(4, 16), 1));
  auto* enrichment = daily.mutable_data_enrichment();
  enrichment->set_total_stress_score(Round(avg_stress + random.Around(0, 5), 1));
  (*enrichment->mutable_stress_contributors())["hrv"] = Round(random.Uniform(0.3, 0.7), 2);
  (*enrichment->mutable_stress_contributors())["rhr"] = Round(random.Uniform(0.3, 0.7), 2);
  FillDevice(*c.provider, daily.mutable_device_data());
  return daily;
}

// ---------------------------------------------------------------------------
// Body: measurements taken during c.day.

terra::Body SimulateBody(const RecordContext& c) {
  Random& random = *c.random;
  const Person& person = *c.person;
  terra::Body body;
  const auto [start, end] = DayBounds(c.day, c.zone);
  auto* metadata = body.mutable_metadata();
  metadata->set_start_time(TerraTime(start, c.zone));
  metadata->set_end_time(TerraTime(std::min(end, c.now), c.zone));
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);

  // Measurements between 07:00 and 22:00 (so far, for today).
  const auto [first, span] = PastWindow(start + absl::Hours(7) + absl::Seconds(random.Int(0, 1800)),
                                        absl::Hours(15), start, c.now);
  const double height_m = person.height_cm / 100;

  auto* measurements = body.mutable_measurements_data();
  auto* blood_pressure = body.mutable_blood_pressure_data();
  auto* heart = body.mutable_heart_data();
  auto* oxygen = body.mutable_oxygen_data();
  auto* temperature = body.mutable_temperature_data();
  auto* glucose = body.mutable_glucose_data();
  double weight_sum = 0, fat_sum = 0, systolic_sum = 0, diastolic_sum = 0, temp_sum = 0,
         glucose_sum = 0, saturation_sum = 0, in_range = 0;
  double glucose_level = random.Around(95, 10);
  for (int i = 0; i < c.samples; ++i) {
    const std::string at = TerraTime(SampleTime(first, span, i, c.samples), c.zone);

    auto* measurement = measurements->add_measurements();
    const double weight = Round(person.weight_kg + random.Around(0, 0.6), 1);
    const double fat = Round(person.bodyfat_percentage + random.Around(0, 0.8), 1);
    measurement->set_measurement_time(at);
    measurement->set_weight_kg(weight);
    measurement->set_height_cm(person.height_cm);
    measurement->set_bmi(Round(weight / (height_m * height_m), 1));
    measurement->set_bodyfat_percentage(fat);
    measurement->set_muscle_mass_g(std::round(weight * (1 - fat / 100) * 0.55 * 1000));
    measurement->set_bone_mass_g(std::round(weight * 0.043 * 1000));
    measurement->set_water_percentage(Round(random.Around(56, 3), 1));
    weight_sum += weight;
    fat_sum += fat;

    auto* pressure = blood_pressure->add_blood_pressure_samples();
    const double systolic = std::round(random.Around(119, 10));
    const double diastolic = std::round(random.Around(77, 7));
    pressure->set_timestamp(at);
    pressure->set_systolic_bp(systolic);
    pressure->set_diastolic_bp(diastolic);
    systolic_sum += systolic;
    diastolic_sum += diastolic;

    auto* rr = heart->add_rr_interval_samples();
    const double hr_bpm = std::round(person.resting_hr_bpm + random.Around(2, 4));
    rr->set_timestamp(at);
    rr->set_hr_bpm(hr_bpm);
    rr->set_rr_interval_ms(std::round(60000 / hr_bpm));
    auto* afib = heart->add_afib_classification_samples();
    afib->set_timestamp(at);
    afib->set_afib_classification(terra::AFIB_FLAG_NEGATIVE);

    auto* saturation = oxygen->add_saturation_samples();
    const double percentage = std::round(random.Around(97, 2));
    saturation->set_timestamp(at);
    saturation->set_percentage(percentage);
    saturation->set_type(terra::OXYGEN_SATURATION_TYPE_BLOOD);
    saturation_sum += percentage;

    auto* body_temperature = temperature->add_body_temperature_samples();
    const double celsius = Round(random.Around(36.7, 0.4), 1);
    body_temperature->set_timestamp(at);
    body_temperature->set_temperature_celsius(celsius);
    temp_sum += celsius;

    auto* glucose_sample = glucose->add_blood_glucose_samples();
    const double previous = glucose_level;
    glucose_level = std::clamp(glucose_level + random.Around(0, 18), 65.0, 175.0);
    const double mg_per_dl = std::round(glucose_level);
    glucose_sample->set_timestamp(at);
    glucose_sample->set_blood_glucose_mg_per_dl(mg_per_dl);
    glucose_sample->set_glucose_level_flag(mg_per_dl > 140  ? terra::GLUCOSE_FLAG_HIGH
                                           : mg_per_dl < 70 ? terra::GLUCOSE_FLAG_LOW
                                                            : terra::GLUCOSE_FLAG_NORMAL);
    const double change = glucose_level - previous;
    glucose_sample->set_trend_arrow(change > 8    ? terra::TREND_ARROW_RISING
                                    : change < -8 ? terra::TREND_ARROW_FALLING
                                                  : terra::TREND_ARROW_FLAT);
    glucose_sum += mg_per_dl;
    if (mg_per_dl >= 70 && mg_per_dl <= 180) ++in_range;
  }
  if (c.samples > 0) {
    measurements->set_day_avg_weight_kg(Round(weight_sum / c.samples, 1));
    measurements->set_day_avg_bmi(Round(weight_sum / c.samples / (height_m * height_m), 1));
    measurements->set_day_avg_bodyfat_percentage(Round(fat_sum / c.samples, 1));
    blood_pressure->set_day_avg_systolic_bp(Round(systolic_sum / c.samples, 1));
    blood_pressure->set_day_avg_diastolic_bp(Round(diastolic_sum / c.samples, 1));
    oxygen->set_avg_saturation_percentage(Round(saturation_sum / c.samples, 1));
    temperature->set_day_avg_body_temperature_celsius(Round(temp_sum / c.samples, 2));
    glucose->set_day_avg_blood_glucose_mg_per_dl(Round(glucose_sum / c.samples, 1));
    glucose->set_time_in_range(Round(in_range / c.samples, 2));
  } else {
    measurements->set_day_avg_weight_kg(person.weight_kg);
    measurements->set_day_avg_bmi(Round(person.weight_kg / (height_m * height_m), 1));
    measurements->set_day_avg_bodyfat_percentage(person.bodyfat_percentage);
  }
  auto* hr_summary = heart->mutable_heart_rate_data()->mutable_summary();
  hr_summary->set_resting_hr_bpm(person.resting_hr_bpm);
  hr_summary->set_avg_hrv_rmssd(std::round(random.Around(55, 15)));
  oxygen->set_vo2max_ml_per_min_per_kg(std::round(random.Around(44, 6)));
  body.mutable_hydration_data()->set_day_total_water_consumption_ml(
      std::round(random.Uniform(1200, 2800)));
  FillDevice(*c.provider, body.mutable_device_data());
  return body;
}

// ---------------------------------------------------------------------------
// Nutrition: the meals and drinks logged on c.day.

void AddMacros(const terra::NutritionMacros& from, terra::NutritionMacros* to) {
  to->set_calories(Round(to->calories() + from.calories(), 1));
  to->set_protein_g(Round(to->protein_g() + from.protein_g(), 1));
  to->set_carbohydrates_g(Round(to->carbohydrates_g() + from.carbohydrates_g(), 1));
  to->set_fat_g(Round(to->fat_g() + from.fat_g(), 1));
  to->set_fiber_g(Round(to->fiber_g() + from.fiber_g(), 1));
  to->set_sugar_g(Round(to->sugar_g() + from.sugar_g(), 1));
}

terra::Nutrition SimulateNutrition(const RecordContext& c) {
  Random& random = *c.random;
  terra::Nutrition nutrition;
  const auto [start, end] = DayBounds(c.day, c.zone);
  auto* metadata = nutrition.mutable_metadata();
  metadata->set_start_time(TerraTime(start, c.zone));
  metadata->set_end_time(TerraTime(std::min(end, c.now), c.zone));
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);

  struct MealPlan {
    terra::MealType type;
    int hour;
    std::vector<std::string> names;
    double calories_low, calories_high;
  };
  const std::vector<MealPlan> plans = {
      {terra::MEAL_TYPE_BREAKFAST,
       7,
       {"Porridge with blueberries", "Scrambled eggs on toast", "Greek yoghurt with granola"},
       300,
       550},
      {terra::MEAL_TYPE_LUNCH,
       12,
       {"Chicken salad", "Lentil soup with bread", "Tuna sandwich"},
       450,
       750},
      {terra::MEAL_TYPE_AFTERNOON_SNACK,
       16,
       {"Apple and almonds", "Banana", "Protein bar"},
       120,
       280},
      {terra::MEAL_TYPE_DINNER,
       19,
       {"Salmon with rice and broccoli", "Vegetable curry", "Pasta bolognese"},
       550,
       900},
  };
  auto* summary = nutrition.mutable_summary();
  for (const MealPlan& plan : plans) {
    const absl::Time eaten_at =
        absl::FromCivil(absl::CivilMinute(c.day) + plan.hour * 60 + random.Int(0, 75), c.zone);
    const std::string& name = random.Pick(plan.names);
    if (eaten_at > c.now) continue;  // not eaten yet today
    terra::Meal* meal = nutrition.add_meals();
    meal->set_id(absl::StrCat("meal-", random.Hex(8)));
    meal->set_name(name);
    meal->set_type(plan.type);
    meal->set_timestamp(TerraTime(eaten_at, c.zone));
    meal->mutable_quantity()->set_unit(terra::NUTRITION_UNITS_GRAM);
    meal->mutable_quantity()->set_amount(std::round(random.Uniform(150, 500)));
    const double calories = std::round(random.Uniform(plan.calories_low, plan.calories_high));
    auto* macros = meal->mutable_macros();
    macros->set_calories(calories);
    // Energy split: ~20% protein, ~50% carbohydrates, ~30% fat.
    macros->set_protein_g(Round(calories * random.Uniform(0.15, 0.3) / 4, 1));
    macros->set_carbohydrates_g(Round(calories * random.Uniform(0.4, 0.55) / 4, 1));
    macros->set_fat_g(Round(calories * random.Uniform(0.2, 0.35) / 9, 1));
    macros->set_fiber_g(Round(random.Uniform(2, 12), 1));
    macros->set_sugar_g(Round(random.Uniform(3, 25), 1));
    meal->mutable_micros()->set_iron_mg(Round(random.Uniform(0.5, 5), 1));
    meal->mutable_micros()->set_calcium_mg(std::round(random.Uniform(40, 350)));
    AddMacros(*macros, summary->mutable_macros());
  }

  const std::vector<std::string> drinks = {"Water", "Coffee", "Tea", "Orange juice",
                                           "Sparkling water"};
  double drink_ml = 0;
  double water_ml = 0;
  const auto [first, span] = PastWindow(start + absl::Hours(7), absl::Hours(15), start, c.now);
  for (int i = 0; i < c.samples; ++i) {
    auto* drink = nutrition.add_drink_samples();
    const std::string& name = random.Pick(drinks);
    const double volume = std::round(random.Uniform(150, 500) / 10) * 10;
    drink->set_timestamp(TerraTime(SampleTime(first, span, i, c.samples), c.zone));
    drink->set_drink_name(name);
    drink->set_drink_volume(volume);
    drink->set_drink_unit(terra::NUTRITION_UNITS_MILLILITER);
    drink_ml += volume;
    if (name == "Water" || name == "Sparkling water") water_ml += volume;
  }
  summary->set_drink_ml(drink_ml);
  summary->set_water_ml(water_ml);
  summary->mutable_micros()->set_calcium_mg(std::round(random.Uniform(600, 1200)));
  summary->mutable_micros()->set_iron_mg(Round(random.Uniform(8, 18), 1));
  summary->mutable_micros()->set_vitamin_c_mg(std::round(random.Uniform(40, 150)));
  summary->mutable_micros()->set_potassium_mg(std::round(random.Uniform(2000, 3800)));
  return nutrition;
}

// ---------------------------------------------------------------------------
// Menstruation: the cycle as seen on c.day.

terra::Menstruation SimulateMenstruation(const RecordContext& c, absl::CivilDay today) {
  Random& random = *c.random;
  const Person& person = *c.person;
  terra::Menstruation menstruation;
  const auto [start, end] = DayBounds(c.day, c.zone);
  auto* metadata = menstruation.mutable_metadata();
  metadata->set_start_time(TerraTime(start, c.zone));
  metadata->set_end_time(TerraTime(std::min(end, c.now), c.zone));
  metadata->set_timestamp_localization(terra::TIMESTAMP_LOCALIZATION_LOCAL);

  const int length = person.cycle_length_days;
  const int period = person.period_length_days;
  // Days since the cycle that contains c.day started (0-based).
  const int64_t since_anchor = (c.day - (today - person.cycle_offset_days));
  const int day_index = static_cast<int>(((since_anchor % length) + length) % length);
  const absl::CivilDay cycle_start = c.day - day_index;
  const int ovulation = length - 14;  // 0-based day of ovulation

  // The phases of this cycle: [first day, last day] (0-based), phase.
  struct Phase {
    int first;
    int last;
    terra::MenstruationInterval phase;
  };
  const std::vector<Phase> phases = {
      {0, period - 1, terra::MENSTRUATION_INTERVAL_PERIOD},
      {period, ovulation - 4, terra::MENSTRUATION_INTERVAL_FOLLICULAR},
      {ovulation - 3, ovulation + 1, terra::MENSTRUATION_INTERVAL_FERTILE_WINDOW},
      {ovulation + 2, length - 1, terra::MENSTRUATION_INTERVAL_LUTEAL},
  };
  const Phase* current = &phases.back();
  for (const Phase& phase : phases) {
    if (day_index >= phase.first && day_index <= phase.last) current = &phase;
  }

  auto* data = menstruation.mutable_menstruation_data();
  data->set_cycle_length_days(length);
  data->set_predicted_cycle_length_days(length + random.Int(-1, 1));
  data->set_period_length_days(period);
  data->set_day_in_cycle(day_index + 1);
  data->set_current_phase(current->phase);
  data->set_length_of_current_phase_days(current->last - current->first + 1);
  data->set_days_until_next_phase(current->last - day_index + 1);
  data->set_is_predicted_cycle(false);
  data->set_period_start_date(TerraDate(cycle_start));
  data->set_last_updated_time(TerraTime(
      std::min(c.now, start + absl::Hours(6) + absl::Seconds(random.Int(0, 7200))), c.zone));
  data->set_fertility_window_start(TerraDate(cycle_start + (ovulation - 3)));
  data->set_fertility_window_end(TerraDate(cycle_start + (ovulation + 1)));
  data->set_ovulation_day(TerraDate(cycle_start + ovulation));
  for (const Phase& phase : phases) {
    auto* interval = data->add_intervals();
    interval->set_start_timestamp(
        TerraTime(absl::FromCivil(cycle_start + phase.first, c.zone), c.zone));
    interval->set_end_timestamp(TerraTime(
        absl::FromCivil(cycle_start + phase.last + 1, c.zone) - absl::Seconds(1), c.zone));
    interval->set_phase(phase.phase);
  }
  const bool in_period = current->phase == terra::MENSTRUATION_INTERVAL_PERIOD;
  const auto [first, span] = PastWindow(start, absl::Hours(24), start, c.now);
  for (int i = 0; i < c.samples; ++i) {
    auto* flow = data->add_menstruation_flow();
    flow->set_timestamp(TerraTime(SampleTime(first, span, i, c.samples), c.zone));
    if (!in_period) {
      flow->set_flow(terra::MENSTRUATION_FLOW_NONE);
    } else {
      flow->set_flow(day_index < 2            ? terra::MENSTRUATION_FLOW_HEAVY
                     : day_index < period - 1 ? terra::MENSTRUATION_FLOW_MEDIUM
                                              : terra::MENSTRUATION_FLOW_LIGHT);
    }
  }
  return menstruation;
}

// ---------------------------------------------------------------------------
// Athlete: the person's profile.

terra::Athlete SimulateAthlete(const Person& person, absl::CivilDay today, Random& random) {
  terra::Athlete athlete;
  athlete.set_first_name(person.first_name);
  athlete.set_last_name(person.last_name);
  athlete.set_age(person.age);
  athlete.set_sex(person.sex);
  athlete.set_gender(person.sex);
  // Born between age+1 years and age years ago, so `age` is right today.
  const absl::CivilDay born =
      absl::CivilDay(today.year() - person.age, today.month(), today.day()) - random.Int(1, 364);
  athlete.set_date_of_birth(TerraDate(born));
  athlete.set_city(person.city);
  athlete.set_country(person.country);
  athlete.set_email(absl::StrCat(absl::AsciiStrToLower(person.first_name), ".",
                                 absl::AsciiStrToLower(person.last_name), "@example.com"));
  athlete.set_bio(random.Pick(
      std::vector<std::string>{"Marathon in the autumn", "Back to running after a knee injury",
                               "Cycling to work", "Training for a first triathlon"}));
  athlete.set_account_creation_date(TerraTime(
      absl::FromCivil(today - random.Int(200, 2000), absl::UTCTimeZone()), absl::UTCTimeZone()));
  athlete.set_provider_user_id(random.Hex(12));
  return athlete;
}

// ---------------------------------------------------------------------------
// Envelopes.

// MessageToJsonString, made deterministic. MessageToJsonString serializes the
// message and prints the bytes; map entries (the *_contributors) come out in
// hash order, which differs from run to run. Serializing deterministically
// (map keys sorted) and printing with BinaryToJsonString, which is what
// MessageToJsonString does internally, gives the same bytes every time.
absl::StatusOr<std::string> PrintTerraJson(const google::protobuf::Message& message) {
  static constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool());
  std::string binary;
  {
    google::protobuf::io::StringOutputStream raw(&binary);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) {
      return absl::InternalError(absl::StrCat("cannot serialize ", message.GetTypeName()));
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // Terra's keys: MET_data, BMR_calories, ...
  options.always_print_enums_as_ints = true;  // Terra sends enums as integers
  std::string json;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver, absl::StrCat(kTypeUrlPrefix, "/", message.GetDescriptor()->full_name()), binary,
      &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

terra::TerraUser MakeUser(const SimulationOptions& options, const std::string& user_id,
                          absl::Time last_update, bool active) {
  terra::TerraUser user;
  user.set_user_id(user_id);
  user.set_provider(options.provider);
  if (!options.reference_id.empty()) user.set_reference_id(options.reference_id);
  user.set_last_webhook_update(TerraTime(last_update, absl::UTCTimeZone()));
  user.set_scopes("activity,sleep,body,daily,nutrition,menstruation");
  user.set_active(active);
  user.set_created_at(TerraTime(options.now - absl::Hours(24 * 120), absl::UTCTimeZone()));
  return user;
}

// Builds a data webhook of `records` with the envelope message W.
template <typename Webhook, typename Record>
absl::StatusOr<std::string> PrintDataWebhook(PayloadType type, const terra::TerraUser& user,
                                             std::vector<Record> records) {
  Webhook webhook;
  webhook.set_type(std::string(TerraTypeName(type)));
  webhook.set_version(kTerraApiVersion);
  *webhook.mutable_user() = user;
  for (Record& record : records) *webhook.add_data() = std::move(record);
  return PrintTerraJson(webhook);
}

absl::StatusOr<std::string> DataWebhookBody(const SimulationOptions& options,
                                            const terra::TerraUser& user, const Person& person,
                                            absl::CivilDay today, int first_index, int count) {
  std::vector<RecordContext> contexts;
  std::vector<Random> randoms;
  randoms.reserve(count);
  for (int i = first_index; i < first_index + count; ++i) {
    randoms.emplace_back(MixSeed(options.seed, static_cast<uint64_t>(options.type) + 1, i));
  }
  const absl::TimeZone zone = absl::FixedTimeZone(options.utc_offset_minutes * 60);
  // Records must not lie in the future. Sleep and activity records of today
  // are whole events; until today's has surely ended, the newest is
  // yesterday's and the series starts one day earlier.
  const absl::CivilMinute local_now = absl::ToCivilMinute(options.now, zone);
  const int minute_of_day = local_now.hour() * 60 + local_now.minute();
  int first_day_back = 0;
  if ((options.type == PayloadType::kSleep && minute_of_day < kSleepOverBy) ||
      (options.type == PayloadType::kActivity && minute_of_day < kActivityOverBy)) {
    first_day_back = 1;
  }
  for (int k = 0; k < count; ++k) {
    contexts.push_back(RecordContext{&randoms[k], &person, zone,
                                     today - (first_index + k + first_day_back),
                                     options.samples_per_array, &options.provider, options.now});
  }
  auto each = [&](auto simulate) {
    std::vector<decltype(simulate(contexts[0]))> records;
    for (const RecordContext& context : contexts) records.push_back(simulate(context));
    return records;
  };
  switch (options.type) {
    case PayloadType::kActivity:
      return PrintDataWebhook<ActivityWebhook>(options.type, user, each(SimulateActivity));
    case PayloadType::kSleep:
      return PrintDataWebhook<SleepWebhook>(options.type, user, each(SimulateSleep));
    case PayloadType::kBody:
      return PrintDataWebhook<BodyWebhook>(options.type, user, each(SimulateBody));
    case PayloadType::kDaily:
      return PrintDataWebhook<DailyWebhook>(options.type, user, each(SimulateDaily));
    case PayloadType::kNutrition:
      return PrintDataWebhook<NutritionWebhook>(options.type, user, each(SimulateNutrition));
    case PayloadType::kMenstruation:
      return PrintDataWebhook<MenstruationWebhook>(
          options.type, user,
          each([today](const RecordContext& c) { return SimulateMenstruation(c, today); }));
    default:
      return absl::InternalError("not a data type");
  }
}

absl::StatusOr<std::string> SingleEventBody(const SimulationOptions& options,
                                            const std::string& user_id, const Person& person,
                                            absl::CivilDay today, int index) {
  Random random(MixSeed(options.seed, static_cast<uint64_t>(options.type) + 1, index));
  // Successive events a minute apart, the last one at `now`.
  const absl::Time at = options.now - absl::Minutes(index);
  switch (options.type) {
    case PayloadType::kAthlete: {
      AthleteWebhook webhook;
      webhook.set_type("athlete");
      webhook.set_version(kTerraApiVersion);
      *webhook.mutable_user() = MakeUser(options, user_id, at, /*active=*/true);
      *webhook.mutable_athlete() = SimulateAthlete(person, today, random);
      return PrintTerraJson(webhook);
    }
    case PayloadType::kAuth: {
      ConnectionWebhook webhook;
      webhook.set_type("auth");
      webhook.set_status("success");
      webhook.set_message("User has successfully authenticated");
      webhook.set_reference_id(options.reference_id);
      webhook.set_widget_session_id(random.Uuid());
      webhook.set_version(kTerraApiVersion);
      terra::TerraUser user = MakeUser(options, user_id, at, /*active=*/true);
      // A connection that was just made has not delivered anything yet.
      user.clear_last_webhook_update();
      user.set_created_at(TerraTime(at, absl::UTCTimeZone()));
      *webhook.mutable_user() = std::move(user);
      return PrintTerraJson(webhook);
    }
    case PayloadType::kDeauth: {
      ConnectionWebhook webhook;
      webhook.set_type("deauth");
      webhook.set_status("success");
      webhook.set_message("User has deauthenticated");
      webhook.set_version(kTerraApiVersion);
      *webhook.mutable_user() = MakeUser(options, user_id, at, /*active=*/false);
      return PrintTerraJson(webhook);
    }
    default:
      return absl::InternalError("not a single-event type");
  }
}

}  // namespace

const std::vector<PayloadType>& AllPayloadTypes() {
  static const std::vector<PayloadType>* const types = new std::vector<PayloadType>{
      PayloadType::kActivity, PayloadType::kSleep,     PayloadType::kBody,
      PayloadType::kDaily,    PayloadType::kNutrition, PayloadType::kMenstruation,
      PayloadType::kAthlete,  PayloadType::kAuth,      PayloadType::kDeauth};
  return *types;
}

absl::string_view TerraTypeName(PayloadType type) {
  switch (type) {
    case PayloadType::kActivity:
      return "activity";
    case PayloadType::kSleep:
      return "sleep";
    case PayloadType::kBody:
      return "body";
    case PayloadType::kDaily:
      return "daily";
    case PayloadType::kNutrition:
      return "nutrition";
    case PayloadType::kMenstruation:
      return "menstruation";
    case PayloadType::kAthlete:
      return "athlete";
    case PayloadType::kAuth:
      return "auth";
    case PayloadType::kDeauth:
      return "deauth";
  }
  return "";
}

absl::StatusOr<PayloadType> ParsePayloadType(absl::string_view name) {
  std::vector<std::string> names;
  for (PayloadType type : AllPayloadTypes()) {
    if (TerraTypeName(type) == name) return type;
    names.emplace_back(TerraTypeName(type));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown type \"", name, "\" (expected one of ",
                                                 absl::StrJoin(names, ", "), ")"));
}

bool HasDataArray(PayloadType type) {
  switch (type) {
    case PayloadType::kActivity:
    case PayloadType::kSleep:
    case PayloadType::kBody:
    case PayloadType::kDaily:
    case PayloadType::kNutrition:
    case PayloadType::kMenstruation:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::vector<SimulatedWebhook>> GenerateWebhooks(const SimulationOptions& options) {
  if (options.record_count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("record count must not be negative (got ", options.record_count, ")"));
  }
  if (options.samples_per_array < 0) {
    return absl::InvalidArgumentError(absl::StrCat("samples per array must not be negative (got ",
                                                   options.samples_per_array, ")"));
  }
  if (options.records_per_webhook < 1) {
    return absl::InvalidArgumentError(absl::StrCat("records per webhook must be at least 1 (got ",
                                                   options.records_per_webhook, ")"));
  }
  if (std::abs(options.utc_offset_minutes) > 18 * 60) {
    return absl::InvalidArgumentError(absl::StrCat("UTC offset must be within +-18 hours (got ",
                                                   options.utc_offset_minutes, " minutes)"));
  }

  Random person_random(MixSeed(options.seed, 0, 0));
  const Person person = MakePerson(person_random);
  const std::string user_id = options.user_id.empty() ? person_random.Uuid() : options.user_id;
  const absl::TimeZone zone = absl::FixedTimeZone(options.utc_offset_minutes * 60);
  const absl::CivilDay today = absl::ToCivilDay(options.now, zone);

  std::vector<SimulatedWebhook> webhooks;
  if (HasDataArray(options.type)) {
    const terra::TerraUser user = MakeUser(options, user_id, options.now, /*active=*/true);
    for (int first = 0; first < options.record_count; first += options.records_per_webhook) {
      const int count = std::min(options.records_per_webhook, options.record_count - first);
      absl::StatusOr<std::string> body =
          DataWebhookBody(options, user, person, today, first, count);
      if (!body.ok()) return body.status();
      webhooks.push_back(SimulatedWebhook{options.type, *std::move(body), count});
    }
  } else {
    for (int i = 0; i < options.record_count; ++i) {
      absl::StatusOr<std::string> body = SingleEventBody(options, user_id, person, today, i);
      if (!body.ok()) return body.status();
      webhooks.push_back(SimulatedWebhook{options.type, *std::move(body), 1});
    }
  }
  return webhooks;
}

}  // namespace simulator
}  // namespace healthwire
