#include "tests/util/temp_dir.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace testing {

TempDir::TempDir(absl::string_view prefix) {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(root != nullptr && *root != '\0' ? root : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror(("mkdtemp " + pattern).c_str());
    std::abort();
  }
  path_ = std::move(pattern);
}

TempDir::~TempDir() {
  std::error_code ignored;  // best effort: TEST_TMPDIR is wiped by Bazel anyway
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

}  // namespace testing
}  // namespace healthwire
