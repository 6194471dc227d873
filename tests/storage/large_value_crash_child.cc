// The child of large_value_crash_test: opens an EventStore at argv[1] and
// ingests one large record (raw JSON of argv[2] bytes carrying the marker
// argv[3]) whose CommitGate stops the commit writer for good once it is asked
// there, i.e. after the large-value writer has written (and synced, and
// ingested) the value but before the commit that would reference it. It
// prints "AT_COMMIT" then and waits to be killed (SIGKILL): the crash point
// between the two writes, reached through the store's public API.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/event_store.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: large_value_crash_child <data folder> <bytes> <marker>\n");
    return 2;
  }
  healthwire::EventStore::Options options;
  options.path = argv[1];
  options.large_write_threads = 1;
  absl::StatusOr<std::unique_ptr<healthwire::EventStore>> store =
      healthwire::EventStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  healthwire::v1::Event event;
  event.set_type(healthwire::v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.set_record_key("large-crash");
  event.mutable_user()->set_user_id("crash-user");
  event.set_start_time("2026-07-01T23:00:00.000000+01:00");
  event.set_raw_json(absl::StrCat("{\"note\":\"", argv[3], "\",\"padding\":\"",
                                  std::string(std::strtoull(argv[2], nullptr, 10), 'k'), "\"}"));
  event.mutable_received_at()->set_seconds(1780000000);
  // Asked first by the large-value writer (before the write), then by the
  // commit writer (after it): the second time is the crash point.
  auto asked = std::make_shared<std::atomic<int>>(0);
  (*store)->IngestAsync(
      {event}, [](absl::StatusOr<healthwire::v1::IngestResponse>) {},
      [asked]() -> absl::Status {
        if (++*asked == 2) {
          std::printf("AT_COMMIT\n");
          std::fflush(stdout);
          for (;;) pause();
        }
        return absl::OkStatus();
      });
  for (;;) pause();
}
