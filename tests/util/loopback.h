// Loopback ports for tests: one nothing listens on, and whether a port
// refuses connections (its server is gone). Thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_LOOPBACK_H_
#define HEALTHWIRE_TESTS_UTIL_LOOPBACK_H_

namespace healthwire {
namespace testing {

// A 127.0.0.1 port nothing listens on: bound once to learn a free number,
// then closed (another process may take it later; good enough for "nothing
// answers there"). Adds a test failure when the socket calls fail.
int UnusedLoopbackPort();

// True when nothing accepts connections on 127.0.0.1:`port` any more.
bool ConnectionRefused(int port);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_LOOPBACK_H_
