// Connection lifecycle: Terra's connection events, converted by the real
// converter and committed to a real EventStore, keep one connection record
// per user_id, served by GetUser. Data is never deleted by these events.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "server/convert/terra_converter.h"
#include "storage/connection_tracker.h"
#include "storage/event_store.h"
#include "tests/util/temp_dir.h"
#include "tests/util/test_files.h"

namespace healthwire {
namespace {

using ::healthwire::testing::ReadTestFile;
using ::healthwire::testing::TempDir;

constexpr char kGarminUser[] = "8b3a1c5e-2f47-4d9a-9c61-3e0b7f2a4d18";
constexpr char kReauthedUser[] = "0e5a9c72-d318-4b4f-a6e1-94f2b8c07d53";
constexpr char kOuraUser[] = "c2e7f9a0-51b6-4f3e-8a0d-7d94b1e6c3f2";

std::string ReadTestdata(const std::string& name) {
  const std::string body = ReadTestFile("tests/testdata/" + name);
  EXPECT_FALSE(body.empty()) << name;
  return body;
}

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventStore::Options options;
    options.path = dir_.path();
    store_ = *EventStore::Open(options);
  }

  void Deliver(const std::string& body) {
    DeliveryContext context;
    context.received_at = absl::Now();
    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
    ASSERT_TRUE(converted.ok()) << converted.status();
    ASSERT_TRUE(store_->Ingest(std::move(converted->events)).ok());
  }

  v1::Connection UserConnection(const std::string& user_id) {
    absl::StatusOr<UserResult> response = store_->GetUser(StoreSubject::UserId(user_id));
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok() || response->connections.size() != 1) return v1::Connection();
    return response->connections[0];
  }

  const TempDir dir_{"connections"};  // outlives store_
  std::unique_ptr<EventStore> store_;
};

TEST_F(ConnectionTest, AuthSuccessMakesAnActiveConnectionWithProviderReferenceAndScopes) {
  Deliver(ReadTestdata("auth_success.json"));
  v1::Connection connection = UserConnection(kGarminUser);
  EXPECT_EQ(connection.status(), v1::Connection::STATUS_ACTIVE);
  EXPECT_EQ(connection.provider(), "GARMIN");
  EXPECT_EQ(connection.reference_id(), "patient-20417");
  EXPECT_EQ(connection.scopes(), "activity,sleep,body,daily");
  EXPECT_TRUE(connection.has_connected_at());
  EXPECT_EQ(connection.last_event_type(), "auth");
  EXPECT_EQ(connection.revision(), 1u);
}

TEST_F(ConnectionTest, DeauthMarksTheConnectionDeauthorizedAndKeepsItsData) {
  Deliver(ReadTestdata("sleep.json"));  // a sleep record of kOuraUser
  Deliver(ReadTestdata("deauth.json"));
  EXPECT_EQ(UserConnection(kOuraUser).status(), v1::Connection::STATUS_DEAUTHORIZED);
  EXPECT_EQ(UserConnection(kOuraUser).status_message(), "User has deauthenticated");

  LatestQuery latest;
  latest.subject = StoreSubject::UserId(kOuraUser);
  latest.type = v1::EVENT_TYPE_SLEEP;
  EXPECT_TRUE(store_->GetLatest(latest).ok());
}

TEST_F(ConnectionTest, AccessRevokedMarksTheConnectionRevoked) {
  Deliver(ReadTestdata("access_revoked.json"));
  EXPECT_EQ(UserConnection("e91b4c7d-6a02-4f85-a3d1-28c6f0b9e457").status(),
            v1::Connection::STATUS_REVOKED);
}

TEST_F(ConnectionTest, ConnectionErrorMarksTheConnectionErrorWithTerrasMessage) {
  Deliver(ReadTestdata("connection_error.json"));
  v1::Connection connection = UserConnection("4f0d2b7c-93a5-4e18-b6c2-0a8e5d1f7c39");
  EXPECT_EQ(connection.status(), v1::Connection::STATUS_ERROR);
  EXPECT_EQ(connection.status_message(), "User connection degraded");
}

TEST_F(ConnectionTest, PermissionChangeTakesTheUsersFullScopeList) {
  Deliver(ReadTestdata("deauth.json"));
  Deliver(ReadTestdata("permission_change.json"));
  EXPECT_EQ(UserConnection(kOuraUser).scopes(),
            "email,personal,daily,heartrate,workout,session,spo2");
}

TEST_F(ConnectionTest, UserReauthLinksTheOldUserToTheNewOne) {
  Deliver(ReadTestdata("auth_success.json"));
  Deliver(ReadTestdata("user_reauth.json"));
  v1::Connection old_user = UserConnection(kGarminUser);
  v1::Connection new_user = UserConnection(kReauthedUser);
  EXPECT_EQ(old_user.status(), v1::Connection::STATUS_REAUTHORIZED);
  EXPECT_EQ(old_user.replaced_by_user_id(), kReauthedUser);
  EXPECT_EQ(new_user.status(), v1::Connection::STATUS_ACTIVE);
  EXPECT_EQ(new_user.previous_user_id(), kGarminUser);
  EXPECT_EQ(new_user.scopes(), "activity,sleep,body,daily,workout_import");
}

TEST_F(ConnectionTest, QueriesByReferenceIdSpanTheConnectionsBeforeAndAfterAReauth) {
  Deliver(ReadTestdata("auth_success.json"));
  Deliver(ReadTestdata("user_reauth.json"));
  absl::StatusOr<UserResult> response =
      store_->GetUser(StoreSubject::ReferenceId("patient-20417"));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->connections.size(), 2u);
  EXPECT_EQ(response->store_revision, 2u);
}

TEST_F(ConnectionTest, AFailedReauthDoesNotDowngradeAnActiveConnection) {
  const std::string failed = absl::StrReplaceAll(
      ReadTestdata("auth_error.json"), {{"5c8d1e3a-0f92-4b67-8d24-a1e6f3c7b095", kGarminUser}});
  Deliver(ReadTestdata("auth_success.json"));
  Deliver(failed);
  EXPECT_EQ(UserConnection(kGarminUser).status(), v1::Connection::STATUS_ACTIVE);
}

TEST_F(ConnectionTest, AFailedFirstAuthLeavesAnErrorRecordWithTheReason) {
  Deliver(ReadTestdata("auth_error.json"));
  v1::Connection connection = UserConnection("5c8d1e3a-0f92-4b67-8d24-a1e6f3c7b095");
  EXPECT_EQ(connection.status(), v1::Connection::STATUS_ERROR);
  EXPECT_EQ(connection.status_message(), "User failed to authenticate and has been deleted");
}

TEST_F(ConnectionTest, AuthCancelledWithoutAUserIsKeptAndTouchesNoConnection) {
  Deliver(ReadTestdata("auth_cancelled.json"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(store_->GetUser(StoreSubject::ReferenceId("patient-20419")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ConnectionTest, DataEventsRefreshTheLastWebhookTime) {
  Deliver(ReadTestdata("auth_success.json"));
  const v1::Connection before = UserConnection(kGarminUser);
  absl::SleepFor(absl::Milliseconds(5));
  Deliver(ReadTestdata("activity.json"));  // an activity record of kGarminUser
  const v1::Connection after = UserConnection(kGarminUser);
  EXPECT_EQ(after.status(), v1::Connection::STATUS_ACTIVE);
  EXPECT_EQ(after.last_event_type(), "activity");
  EXPECT_GT(after.last_webhook_at().seconds() * 1000000000LL + after.last_webhook_at().nanos(),
            before.last_webhook_at().seconds() * 1000000000LL + before.last_webhook_at().nanos());
}

TEST_F(ConnectionTest, GetUserOfAnUnknownUserIsNotFoundNamingIt) {
  absl::Status status = store_->GetUser(StoreSubject::UserId("nobody")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("nobody"), absl::string_view::npos);
}

TEST_F(ConnectionTest, GetUserWithoutSubjectIsInvalidArgument) {
  EXPECT_EQ(store_->GetUser(StoreSubject()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ScopeChangeTest, AddsAndRemovesWithoutDuplicates) {
  EXPECT_EQ(ApplyScopeChange("a,b,c", "c,d", "a"), "b,c,d");
  EXPECT_EQ(ApplyScopeChange("", " x , y ", ""), "x,y");
}

}  // namespace
}  // namespace healthwire
