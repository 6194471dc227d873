// Reading whole files in tests: fixtures from the runfiles (tests/testdata,
// tests/hostile) and what started processes wrote (stdout, stderr, ready
// files); and writing the small files a test hands a process (tokens files,
// token files) with the mode it needs.
//
// Paths are relative to the test's working directory, which under Bazel is
// the runfiles root ("tests/testdata/sleep.json"). Thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_
#define HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_

#include <sys/types.h>

#include <string>

namespace healthwire {
namespace testing {

// The bytes of `path`; adds a gtest failure naming the path (and returns "")
// when it cannot be opened. For fixture files that must exist.
std::string ReadTestFile(const std::string& path);

// The bytes of `path`, or "" when it does not exist (yet). For files another
// process is still writing.
std::string ReadFileOrEmpty(const std::string& path);

// Writes `contents` to `dir`/`name` with `mode` (0600 by default: tokens
// files must not be readable by others); returns the path. Adds a gtest
// failure when it cannot be written.
std::string WriteTestFile(const std::string& dir, const std::string& name,
                          const std::string& contents, mode_t mode = 0600);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_TEST_FILES_H_
