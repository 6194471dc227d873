#include "server/signing_secrets.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthwire {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A fresh folder under TEST_TMPDIR (or /tmp outside Bazel).
std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(base != nullptr ? base : "/tmp", "/signing_secrets_XXXXXX");
  EXPECT_NE(mkdtemp(path.data()), nullptr);
  return path;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

mode_t FileMode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_mode & 0777;
}

TEST(ParseSecretListTest, SplitsOnCommasAndTrims) {
  EXPECT_THAT(ParseSecretList(" a , b,c "), ElementsAre("a", "b", "c"));
}

TEST(ParseSecretListTest, SkipsEmptyEntries) {
  EXPECT_THAT(ParseSecretList(",a,,b,"), ElementsAre("a", "b"));
  EXPECT_THAT(ParseSecretList(""), IsEmpty());
}

TEST(LoadSecretsFromFileTest, IgnoresCommentsAndBlankLines) {
  const std::string path = MakeTempDir() + "/secrets";
  WriteFile(path,
            "# production\n"
            "first\n"
            "\n"
            "   \n"
            "  second  \r\n"
            "   # staging, indented comment\n"
            "third#with-hash\n"
            "last-without-newline");
  absl::StatusOr<std::vector<std::string>> secrets = LoadSecretsFromFile(path);
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_THAT(*secrets, ElementsAre("first", "second", "third#with-hash", "last-without-newline"));
}

TEST(LoadSecretsFromFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::vector<std::string>> secrets =
      LoadSecretsFromFile(MakeTempDir() + "/does-not-exist");
  EXPECT_EQ(secrets.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadSecretsFromFileTest, FileWithOnlyCommentsGivesNoSecrets) {
  const std::string path = MakeTempDir() + "/secrets";
  WriteFile(path, "# nothing yet\n\n");
  absl::StatusOr<std::vector<std::string>> secrets = LoadSecretsFromFile(path);
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_THAT(*secrets, IsEmpty());
}

TEST(GeneratedSecretTest, IsCreatedWithMode0600InANewFolder) {
  const std::string data_dir = MakeTempDir() + "/nested/data";
  absl::StatusOr<GeneratedSecret> generated = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_TRUE(generated->created);
  EXPECT_EQ(generated->path, data_dir + "/webhook-signing-secret");
  EXPECT_EQ(FileMode(generated->path), 0600);
  EXPECT_THAT(generated->secret, SizeIs(64));
  EXPECT_EQ(generated->secret.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(GeneratedSecretTest, IsReusedOnTheNextStart) {
  const std::string data_dir = MakeTempDir();
  absl::StatusOr<GeneratedSecret> first = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<GeneratedSecret> second = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->secret, first->secret);
  EXPECT_EQ(second->path, first->path);
}

TEST(GeneratedSecretTest, DiffersBetweenDataFolders) {
  absl::StatusOr<GeneratedSecret> a = LoadOrCreateGeneratedSecret(MakeTempDir());
  absl::StatusOr<GeneratedSecret> b = LoadOrCreateGeneratedSecret(MakeTempDir());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->secret, b->secret);
}

TEST(GeneratedSecretTest, LeavesNoTemporaryFilesBehind) {
  const std::string data_dir = MakeTempDir();
  ASSERT_TRUE(LoadOrCreateGeneratedSecret(data_dir).ok());
  std::vector<std::string> names;
  DIR* dir = opendir(data_dir.c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  EXPECT_THAT(names, ElementsAre("webhook-signing-secret"));
}

TEST(GeneratedSecretTest, AnExistingSecretFileIsReadAsIs) {
  const std::string data_dir = MakeTempDir();
  WriteFile(data_dir + "/webhook-signing-secret", "  pasted-secret \n");
  absl::StatusOr<GeneratedSecret> generated = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_FALSE(generated->created);
  EXPECT_EQ(generated->secret, "pasted-secret");
}

TEST(GeneratedSecretTest, AnEmptySecretFileIsAnError) {
  const std::string data_dir = MakeTempDir();
  WriteFile(data_dir + "/webhook-signing-secret", "\n");
  EXPECT_EQ(LoadOrCreateGeneratedSecret(data_dir).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ResolveSigningSecretsTest, FlagAndFileSecretsAreCombinedWithoutDuplicates) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/secrets", "b\nc\n");
  absl::StatusOr<ResolvedSigningSecrets> resolved =
      ResolveSigningSecrets({"a,b", dir + "/secrets", dir + "/data"});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_THAT(resolved->secrets, ElementsAre("a", "b", "c"));
  EXPECT_FALSE(resolved->generated.has_value());
  EXPECT_NE(access((dir + "/data/webhook-signing-secret").c_str(), F_OK), 0);
}

TEST(ResolveSigningSecretsTest, NothingConfiguredUsesTheGeneratedSecret) {
  const std::string data_dir = MakeTempDir() + "/data";
  absl::StatusOr<ResolvedSigningSecrets> resolved = ResolveSigningSecrets({"", "", data_dir});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_TRUE(resolved->generated.has_value());
  EXPECT_THAT(resolved->secrets, ElementsAre(resolved->generated->secret));
  EXPECT_EQ(resolved->generated->path, data_dir + "/webhook-signing-secret");
}

TEST(ResolveSigningSecretsTest, NamedFileWithoutSecretsIsAnError) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/secrets", "# to be filled in\n");
  EXPECT_EQ(ResolveSigningSecrets({"", dir + "/secrets", dir}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResolveSigningSecretsTest, MissingFileIsAnError) {
  const std::string dir = MakeTempDir();
  EXPECT_EQ(ResolveSigningSecrets({"a", dir + "/nope", dir}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace healthwire
