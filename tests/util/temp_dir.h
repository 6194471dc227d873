// TempDir: a fresh, empty folder for one test, removed with everything in it
// when the TempDir is destroyed.
//
// Folders are made under TEST_TMPDIR (Bazel's per-test scratch space) or /tmp
// outside Bazel, named "<prefix>-XXXXXX" so a failing test's leftovers (when
// the process is killed) say whose they are. A process that writes into the
// folder (a started binary's --data_dir) must be stopped before its TempDir
// is destroyed: declare the TempDir before the process in a fixture.
//
// Not thread-safe to destroy while another thread writes into the folder;
// path() may be read from any thread.
#ifndef HEALTHWIRE_TESTS_UTIL_TEMP_DIR_H_
#define HEALTHWIRE_TESTS_UTIL_TEMP_DIR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace healthwire {
namespace testing {

class TempDir {
 public:
  // Makes the folder; aborts the test binary when it cannot (nothing useful
  // can run without it).
  explicit TempDir(absl::string_view prefix = "test");
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The folder's absolute path, without a trailing slash.
  const std::string& path() const { return path_; }
  // path() + "/" + name (nothing is created).
  std::string File(absl::string_view name) const;

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_TEMP_DIR_H_
