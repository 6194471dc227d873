#include "storage/coalesce.h"

#include <memory>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace healthwire {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::OneofDescriptor;
using google::protobuf::Reflection;

namespace {

constexpr char kPayloadOneof[] = "payload";
constexpr char kDataEnrichmentField[] = "data_enrichment";

// Whether `incoming` lacks `field` in a way that lets the stored value fill in.
bool IsAbsent(const Message& message, const FieldDescriptor* field) {
  const Reflection* reflection = message.GetReflection();
  if (field->is_repeated()) return reflection->FieldSize(message, field) == 0;
  return !reflection->HasField(message, field);
}

bool CanCarryOver(const FieldDescriptor* field) {
  return field->is_repeated() || field->has_presence();
}

}  // namespace

bool CoalesceDataEnrichment(const v1::Event& stored, v1::Event* incoming) {
  if (stored.payload_case() != incoming->payload_case() ||
      stored.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
    return false;
  }
  const Reflection* event_reflection = stored.GetReflection();
  const OneofDescriptor* payload_oneof =
      v1::Event::descriptor()->FindOneofByName(kPayloadOneof);
  const FieldDescriptor* payload_field =
      event_reflection->GetOneofFieldDescriptor(stored, payload_oneof);
  if (payload_field == nullptr ||
      payload_field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return false;
  }

  const Message& stored_payload = event_reflection->GetMessage(stored, payload_field);
  const FieldDescriptor* enrichment_field =
      stored_payload.GetDescriptor()->FindFieldByName(kDataEnrichmentField);
  if (enrichment_field == nullptr || enrichment_field->is_repeated() ||
      enrichment_field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return false;  // this payload type has no enrichment scores
  }
  const Reflection* payload_reflection = stored_payload.GetReflection();
  if (!payload_reflection->HasField(stored_payload, enrichment_field)) return false;
  const Message& stored_enrichment =
      payload_reflection->GetMessage(stored_payload, enrichment_field);

  Message* incoming_payload =
      event_reflection->MutableMessage(incoming, payload_field);
  const Message* incoming_enrichment = nullptr;
  if (payload_reflection->HasField(*incoming_payload, enrichment_field)) {
    incoming_enrichment =
        &payload_reflection->GetMessage(*incoming_payload, enrichment_field);
  }

  // Start from a copy of the stored enrichment and drop every field the
  // incoming version keeps (or that the stored one does not have). What is left
  // is exactly what the incoming version lacks, and merging it fills only
  // those empty fields, so MergeFrom's overwrite/append semantics never touch
  // a value the new delivery carries.
  std::unique_ptr<Message> carry_over(stored_enrichment.New());
  carry_over->CopyFrom(stored_enrichment);
  const Reflection* enrichment_reflection = carry_over->GetReflection();
  // Fields this build does not model are not "scores we know are absent".
  enrichment_reflection->MutableUnknownFields(carry_over.get())->Clear();
  const Descriptor* enrichment_descriptor = carry_over->GetDescriptor();
  bool anything = false;
  for (int i = 0; i < enrichment_descriptor->field_count(); ++i) {
    const FieldDescriptor* field = enrichment_descriptor->field(i);
    const bool keep = CanCarryOver(field) && !IsAbsent(stored_enrichment, field) &&
                      (incoming_enrichment == nullptr ||
                       IsAbsent(*incoming_enrichment, field));
    if (keep) {
      anything = true;
    } else {
      enrichment_reflection->ClearField(carry_over.get(), field);
    }
  }
  if (!anything) return false;
  payload_reflection->MutableMessage(incoming_payload, enrichment_field)
      ->MergeFrom(*carry_over);
  return true;
}

}  // namespace healthwire
