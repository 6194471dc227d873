// DeliveryId: the stable id of a webhook delivery in the commit log.
//
// A hex SHA-256 over the delivery's events with received_at left out, so the
// same body converts to the same id on every gateway and on every retry
// (Terra re-sends a body unchanged). It becomes the Nats-Msg-Id of the
// delivery's commit entry: within the stream's duplicate window a retry that
// raced its first attempt is dropped by the server and acknowledged with the
// first attempt's sequence; after it, the store's identical-content rule
// catches the re-delivery.
//
// Pure function; thread-safe.
#ifndef HEALTHWIRE_STORAGE_COMMIT_LOG_DELIVERY_ID_H_
#define HEALTHWIRE_STORAGE_COMMIT_LOG_DELIVERY_ID_H_

#include <cstdint>
#include <string>

#include "google/protobuf/repeated_field.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

std::string DeliveryId(const google::protobuf::RepeatedPtrField<v1::Event>& events);

// The same id for events the caller owns, without copying them: each event's
// received_at and revision are taken out while it is hashed and put back
// (the gateway's publish path; a copy of a 1 KB event per webhook was one
// of its allocations). Not for events other threads read meanwhile.
std::string DeliveryIdInPlace(google::protobuf::RepeatedPtrField<v1::Event>* events);

// The delivery id (Nats-Msg-Id) of a replica's s3_payload fetch outcome for
// the ping stored at `ping_revision`: the same on every replica, so two
// replicas' outcomes of one ping are one entry within the duplicate window.
std::string FetchOutcomeDeliveryId(uint64_t ping_revision);

// The raw 32-byte SHA-256 of `bytes`.
std::string Sha256Bytes(const std::string& bytes);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COMMIT_LOG_DELIVERY_ID_H_
