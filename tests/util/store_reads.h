// Reads of a running store over its public gRPC API (healthwire.v1.EventStore),
// as end-to-end tests check what was stored: never by opening RocksDB files.
//
// Every call carries a deadline, so a store that stops answering fails the
// test instead of hanging it. RPC errors are reported as gtest failures
// (EXPECT) plus an empty result, because a read that fails is a failed test
// wherever these are used. Thread-safe (as the stub is).
#ifndef HEALTHWIRE_TESTS_UTIL_STORE_READS_H_
#define HEALTHWIRE_TESTS_UTIL_STORE_READS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"

namespace healthwire {
namespace testing {

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> RpcContext(absl::Duration timeout = absl::Seconds(30));

// The store's current revision, as a read reports it (a ListRecords of a
// user nobody has).
uint64_t StoreRevision(v1::EventStore::Stub* stub);

// GetLatest of (user, type).
grpc::Status GetLatest(v1::EventStore::Stub* stub, const std::string& user, v1::EventType type,
                       v1::GetLatestResponse* response);

// Every stored record of (user, type), newest start time first (all pages).
std::vector<v1::Event> ListAll(v1::EventStore::Stub* stub, const std::string& user,
                               v1::EventType type);

// The stored latest version of (user, type, record_key), if any.
std::optional<v1::Event> FindStored(v1::EventStore::Stub* stub, const std::string& user,
                                    v1::EventType type, const std::string& record_key);

// The change log from revision 1 through `through_revision` (fewer when the
// stream ends first), via StreamUpdates, which is cancelled once there.
std::vector<v1::Event> ReplayChangeLog(v1::EventStore::Stub* stub, uint64_t through_revision,
                                       bool include_raw_json);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_STORE_READS_H_
