// How one stored event changes the connection record of its Terra user(s).
//
// Pure functions (no I/O): the store calls them inside its commit, so the
// connection record changes in the same WriteBatch as the event itself.
// Connection events set the status (auth -> ACTIVE, deauth -> DEAUTHORIZED,
// access_revoked -> REVOKED, connection_error -> ERROR, user_reauth links the
// old user_id to the new one, permission_change edits the scopes); every
// stored event refreshes provider, reference_id, scopes (when its user object
// carries them) and the last-webhook time. Nothing here deletes data.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_STORAGE_CONNECTION_TRACKER_H_
#define HEALTHWIRE_STORAGE_CONNECTION_TRACKER_H_

#include <optional>
#include <string>
#include <vector>

#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// The user_ids whose connection records `event` changes (none for events
// without a user, such as auth_cancelled).
std::vector<std::string> ConnectionsTouchedBy(const v1::Event& event);

// Applies `event` (revision assigned) to the connection record of `user_id`,
// one of ConnectionsTouchedBy(event). `connection` is the stored record, or
// empty when the user has none yet.
void ApplyEventToConnection(const v1::Event& event, const std::string& user_id,
                            std::optional<v1::Connection>* connection);

// Scopes after a permission change: `scopes` (comma-separated) plus `added`,
// minus `removed`, in a stable order without duplicates.
std::string ApplyScopeChange(const std::string& scopes, const std::string& added,
                             const std::string& removed);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_CONNECTION_TRACKER_H_
