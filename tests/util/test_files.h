// Reading whole files in tests: fixtures from the runfiles (tests/testdata,
// tests/hostile) and what started processes wrote (stdout, stderr, ready
// files).
//
// Paths are relative to the test's working directory, which under Bazel is
// the runfiles root ("tests/testdata/sleep.json"). Thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_
#define HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_

#include <string>

namespace healthwire {
namespace testing {

// The bytes of `path`; adds a gtest failure naming the path (and returns "")
// when it cannot be opened. For fixture files that must exist.
std::string ReadTestFile(const std::string& path);

// The bytes of `path`, or "" when it does not exist (yet). For files another
// process is still writing.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_
