#include "tests/util/test_files.h"

#include <sys/stat.h>

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

std::string WriteTestFile(const std::string& dir, const std::string& name,
                          const std::string& contents, mode_t mode) {
  const std::string path = dir + "/" + name;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    EXPECT_TRUE(out.good()) << "cannot write " << path;
  }
  EXPECT_EQ(chmod(path.c_str(), mode), 0) << "cannot chmod " << path;
  return path;
}

}  // namespace testing
}  // namespace healthwire
