#include "storage/connection_tracker.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace {

std::vector<std::string> SplitScopes(const std::string& scopes) {
  std::vector<std::string> out;
  for (absl::string_view scope : absl::StrSplit(scopes, ',', absl::SkipWhitespace())) {
    std::string trimmed(absl::StripAsciiWhitespace(scope));
    if (std::find(out.begin(), out.end(), trimmed) == out.end()) out.push_back(trimmed);
  }
  return out;
}

// Copies what the user object says about the connection; absent fields keep
// what is stored.
void RefreshFromUser(const healthwire::terra::TerraUser& user, v1::Connection* connection) {
  if (user.has_provider() && !user.provider().empty()) connection->set_provider(user.provider());
  if (user.has_reference_id() && !user.reference_id().empty()) {
    connection->set_reference_id(user.reference_id());
  }
  if (user.has_scopes() && !user.scopes().empty()) connection->set_scopes(user.scopes());
}

const healthwire::terra::TerraUser* UserObjectFor(const v1::Event& event,
                                                  const std::string& user_id) {
  if (event.user().user_id() == user_id) return &event.user();
  if (event.has_connection()) {
    const auto& c = event.connection();
    if (c.old_user().user_id() == user_id) return &c.old_user();
    if (c.new_user().user_id() == user_id) return &c.new_user();
  }
  return nullptr;
}

}  // namespace

std::string ApplyScopeChange(const std::string& scopes, const std::string& added,
                             const std::string& removed) {
  std::vector<std::string> result = SplitScopes(scopes);
  for (const std::string& scope : SplitScopes(added)) {
    if (std::find(result.begin(), result.end(), scope) == result.end()) result.push_back(scope);
  }
  for (const std::string& scope : SplitScopes(removed)) {
    result.erase(std::remove(result.begin(), result.end(), scope), result.end());
  }
  return absl::StrJoin(result, ",");
}

std::vector<std::string> ConnectionsTouchedBy(const v1::Event& event) {
  std::vector<std::string> users;
  if (!event.user().user_id().empty()) users.push_back(event.user().user_id());
  if (event.type() == v1::EVENT_TYPE_USER_REAUTH && event.has_connection()) {
    const std::string& old_id = event.connection().old_user().user_id();
    if (!old_id.empty() && std::find(users.begin(), users.end(), old_id) == users.end()) {
      users.push_back(old_id);
    }
  }
  return users;
}

void ApplyEventToConnection(const v1::Event& event, const std::string& user_id,
                            std::optional<v1::Connection>* connection) {
  const bool existed = connection->has_value();
  // A failed auth of a user that was never connected still leaves a record
  // saying so; a failed re-auth never downgrades a working connection.
  if (event.type() == v1::EVENT_TYPE_AUTH_ERROR && existed &&
      (*connection)->status() == v1::Connection::STATUS_ACTIVE) {
    return;
  }
  if (!existed) {
    connection->emplace();
    (*connection)->set_user_id(user_id);
  }
  v1::Connection& c = **connection;
  if (const auto* user = UserObjectFor(event, user_id)) RefreshFromUser(*user, &c);
  c.set_revision(event.revision());
  const auto& details = event.connection();
  const std::string& message =
      details.has_message() ? details.message() : details.reason();

  switch (event.type()) {
    case v1::EVENT_TYPE_AUTH:
      c.set_status(v1::Connection::STATUS_ACTIVE);
      c.clear_status_message();
      if (!c.has_connected_at()) *c.mutable_connected_at() = event.received_at();
      if (details.has_reference_id() && !details.reference_id().empty()) {
        c.set_reference_id(details.reference_id());
      }
      break;
    case v1::EVENT_TYPE_AUTH_ERROR:
      c.set_status(v1::Connection::STATUS_ERROR);
      c.set_status_message(message);
      break;
    case v1::EVENT_TYPE_DEAUTH:
      c.set_status(v1::Connection::STATUS_DEAUTHORIZED);
      c.set_status_message(message);
      break;
    case v1::EVENT_TYPE_ACCESS_REVOKED:
      c.set_status(v1::Connection::STATUS_REVOKED);
      c.set_status_message(message);
      break;
    case v1::EVENT_TYPE_CONNECTION_ERROR:
      c.set_status(v1::Connection::STATUS_ERROR);
      c.set_status_message(message);
      break;
    case v1::EVENT_TYPE_PERMISSION_CHANGE:
      // A full scope list in the user object wins; otherwise apply the diff.
      if (!(UserObjectFor(event, user_id) != nullptr &&
            UserObjectFor(event, user_id)->has_scopes())) {
        c.set_scopes(ApplyScopeChange(c.scopes(), details.scopes_added(),
                                      details.scopes_removed()));
      }
      break;
    case v1::EVENT_TYPE_USER_REAUTH: {
      const std::string& old_id = details.old_user().user_id();
      const std::string& new_id = details.new_user().user_id();
      if (user_id == old_id && old_id != new_id) {
        c.set_status(v1::Connection::STATUS_REAUTHORIZED);
        c.set_replaced_by_user_id(new_id);
      } else {
        c.set_status(v1::Connection::STATUS_ACTIVE);
        c.clear_status_message();
        if (old_id != new_id) c.set_previous_user_id(old_id);
        if (!c.has_connected_at()) *c.mutable_connected_at() = event.received_at();
      }
      break;
    }
    default:
      // Data (and other) events: a user whose data arrives is connected,
      // unless Terra said otherwise since.
      if (c.status() == v1::Connection::STATUS_UNSPECIFIED) {
        c.set_status(v1::Connection::STATUS_ACTIVE);
      }
      break;
  }
  c.set_last_event_type(event.terra_type());
  if (event.received_at().seconds() > c.last_webhook_at().seconds() ||
      (event.received_at().seconds() == c.last_webhook_at().seconds() &&
       event.received_at().nanos() > c.last_webhook_at().nanos())) {
    *c.mutable_last_webhook_at() = event.received_at();
  }
}

}  // namespace healthwire
