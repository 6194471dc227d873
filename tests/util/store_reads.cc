#include "tests/util/store_reads.h"

#include <chrono>

#include "gtest/gtest.h"

namespace healthwire {
namespace testing {

std::unique_ptr<grpc::ClientContext> RpcContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  return context;
}

uint64_t StoreRevision(v1::EventStore::Stub* stub) {
  v1::ListRecordsRequest request;
  request.mutable_subject()->set_user_id("store-revision-probe-nobody");
  request.set_type(v1::EVENT_TYPE_SLEEP);
  request.set_page_size(1);
  v1::ListRecordsResponse response;
  grpc::Status status = stub->ListRecords(RpcContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  return response.store_revision();
}

grpc::Status GetLatest(v1::EventStore::Stub* stub, const std::string& user, v1::EventType type,
                       v1::GetLatestResponse* response) {
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(user);
  request.set_type(type);
  return stub->GetLatest(RpcContext().get(), request, response);
}

std::vector<v1::Event> ListAll(v1::EventStore::Stub* stub, const std::string& user,
                               v1::EventType type) {
  std::vector<v1::Event> events;
  std::string token;
  for (int page = 0; page < 1000; ++page) {
    v1::ListRecordsRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(type);
    request.set_page_size(1000);
    request.set_page_token(token);
    v1::ListRecordsResponse response;
    grpc::Status status =
        stub->ListRecords(RpcContext(absl::Seconds(60)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    if (!status.ok()) break;
    for (const v1::Event& event : response.events()) events.push_back(event);
    token = response.next_page_token();
    if (token.empty()) break;
  }
  return events;
}

std::optional<v1::Event> FindStored(v1::EventStore::Stub* stub, const std::string& user,
                                    v1::EventType type, const std::string& record_key) {
  for (v1::Event& event : ListAll(stub, user, type)) {
    if (event.record_key() == record_key) return std::move(event);
  }
  return std::nullopt;
}

std::vector<v1::Event> ReplayChangeLog(v1::EventStore::Stub* stub, uint64_t through_revision,
                                       bool include_raw_json) {
  std::vector<v1::Event> events;
  if (through_revision == 0) return events;
  v1::StreamUpdatesRequest request;
  request.set_start_revision(1);
  request.set_include_raw_json(include_raw_json);
  std::unique_ptr<grpc::ClientContext> context = RpcContext();
  auto reader = stub->StreamUpdates(context.get(), request);
  v1::StreamUpdatesResponse response;
  while (reader->Read(&response)) {
    if (!response.has_update()) continue;
    events.push_back(response.update());
    if (response.update().revision() >= through_revision) break;
  }
  context->TryCancel();
  (void)reader->Finish();
  return events;
}

}  // namespace testing
}  // namespace healthwire
