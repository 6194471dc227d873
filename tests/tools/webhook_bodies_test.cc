// SleepWebhookBuilder (tools/simulator/webhook_bodies.h): the bodies carry
// exactly the values a test names, leave out what it does not, and are read
// by healthwire's converter without conversion problems.
#include "tools/simulator/webhook_bodies.h"

#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.pb.h"
#include "server/convert/terra_converter.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;

ConvertedWebhook Convert(const std::string& body) {
  DeliveryContext context;
  context.received_at = absl::Now();
  absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
  EXPECT_TRUE(converted.ok()) << converted.status() << "\n" << body;
  return converted.ok() ? *std::move(converted) : ConvertedWebhook();
}

TEST(SleepWebhookBuilderTest, DefaultBodyIsOneSleepRecordWithTheGivenUserAndSummaryId) {
  const ConvertedWebhook converted = Convert(SleepWebhookBuilder("user-7", "s-7").Json());
  ASSERT_EQ(converted.events.size(), 1u);
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.type(), v1::EVENT_TYPE_SLEEP);
  EXPECT_EQ(event.user().user_id(), "user-7");
  EXPECT_EQ(event.user().provider(), "OURA");
  EXPECT_EQ(event.user().reference_id(), "");
  EXPECT_EQ(event.record_key(), "s-7");
  EXPECT_EQ(event.start_time(), "2026-07-01T23:10:00.000000+01:00");
  EXPECT_FALSE(event.sleep().data_enrichment().has_sleep_score());
  EXPECT_EQ(event.conversion_problems_size(), 0);
  EXPECT_EQ(converted.events_with_problems, 0);
}

TEST(SleepWebhookBuilderTest, EverySetValueArrivesTyped) {
  const ConvertedWebhook converted = Convert(SleepWebhookBuilder("u", "night-3")
                                                 .Provider("GARMIN")
                                                 .ReferenceId("person-3")
                                                 .StartTime("2026-07-03T22:00:00.000000+02:00")
                                                 .EndTime("2026-07-04T06:30:00.000000+02:00")
                                                 .UploadType(2)
                                                 .SleepScore(77)
                                                 .IsNap(false)
                                                 .Json());
  ASSERT_EQ(converted.events.size(), 1u);
  const v1::Event& event = converted.events[0];
  EXPECT_EQ(event.user().provider(), "GARMIN");
  EXPECT_EQ(event.user().reference_id(), "person-3");
  EXPECT_EQ(event.start_time(), "2026-07-03T22:00:00.000000+02:00");
  EXPECT_EQ(event.sleep().metadata().end_time(), "2026-07-04T06:30:00.000000+02:00");
  EXPECT_EQ(event.sleep().metadata().upload_type(), terra::SLEEP_UPLOAD_TYPE_AUTOMATIC);
  EXPECT_TRUE(event.sleep().metadata().has_is_nap());
  EXPECT_FALSE(event.sleep().metadata().is_nap());
  EXPECT_EQ(event.sleep().data_enrichment().sleep_score(), 77);
  EXPECT_EQ(event.conversion_problems_size(), 0);
}

TEST(SleepWebhookBuilderTest, SameValuesGiveTheSameBytesAndOtherValuesOtherBytes) {
  EXPECT_EQ(SleepWebhookBuilder("u", "s").SleepScore(80).Json(),
            SleepWebhookBuilder("u", "s").SleepScore(80).Json());
  EXPECT_NE(SleepWebhookBuilder("u", "s").SleepScore(80).Json(),
            SleepWebhookBuilder("u", "s").SleepScore(81).Json());
}

}  // namespace
}  // namespace healthwire
