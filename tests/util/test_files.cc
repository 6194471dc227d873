#include "tests/util/test_files.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace healthwire {
namespace testing {
namespace {

std::string ReadAll(std::ifstream& in) {
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return in.good() ? ReadAll(in) : "";
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return in.good() ? ReadAll(in) : "";
}

}  // namespace testing
}  // namespace healthwire
