// The webhook bodies the gateway's status-table tests post (webhook_handler_test
// without a socket, webhook_gateway_test over HTTP), one per kind of row, so
// both prove their rows with the same inputs.
//
// The sleep body comes from the simulator's builder; the other three are
// written by hand on purpose: a healthcheck has no typed message, an unknown
// type and a schema-drifted record are what typed messages cannot print.
// Constants and a pure function: thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_STATUS_TABLE_BODIES_H_
#define HEALTHWIRE_TESTS_UTIL_STATUS_TABLE_BODIES_H_

#include <string>

#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace testing {

// A sleep webhook with one record of `user_id` (reference patient-1).
inline std::string SleepBody(const std::string& summary_id,
                             const std::string& user_id = "user-1") {
  return simulator::SleepWebhookBuilder(user_id, summary_id).ReferenceId("patient-1").Json();
}

// Terra's healthcheck: answered 200, nothing stored.
inline constexpr char kHealthcheckBody[] =
    R"({"type":"healthcheck","status":"success",)"
    R"("creation_timestamp":"2026-07-01T12:00:00.000000+00:00"})";

// A type healthwire does not know: kept raw, never refused.
inline constexpr char kUnknownTypeBody[] =
    R"({"type":"glucose_alert","version":"2027-01-01",)"
    R"("user":{"user_id":"user-2","provider":"DEXCOM"},"alert":{"level":"urgent_low"}})";

// An activity whose energy_kilojoules does not fit the typed schema: stored
// raw and flagged.
inline constexpr char kDriftedActivityBody[] =
    R"({"type":"activity","version":"2022-03-16","user":{"user_id":"user-3","provider":"GARMIN"},)"
    R"("data":[{"metadata":{"summary_id":"a-1","type":8,)"
    R"("start_time":"2026-07-01T07:00:00.000000+00:00"},)"
    R"("energy_data":{"energy_kilojoules":"n/a"}}]})";

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_STATUS_TABLE_BODIES_H_
