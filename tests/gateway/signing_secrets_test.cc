#include "server/webhook/signing_secrets.h"

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
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using ::healthwire::testing::TempDir;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

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
  const TempDir temp;
  const std::string path = temp.path() + "/secrets";
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
  const TempDir temp;
  absl::StatusOr<std::vector<std::string>> secrets =
      LoadSecretsFromFile(temp.path() + "/does-not-exist");
  EXPECT_EQ(secrets.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadSecretsFromFileTest, FileWithOnlyCommentsGivesNoSecrets) {
  const TempDir temp;
  const std::string path = temp.path() + "/secrets";
  WriteFile(path, "# nothing yet\n\n");
  absl::StatusOr<std::vector<std::string>> secrets = LoadSecretsFromFile(path);
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_THAT(*secrets, IsEmpty());
}

TEST(GeneratedSecretTest, IsCreatedWithMode0600InANewFolder) {
  const TempDir temp;
  const std::string data_dir = temp.path() + "/nested/data";
  absl::StatusOr<GeneratedSecret> generated = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_TRUE(generated->created);
  EXPECT_EQ(generated->path, data_dir + "/webhook-signing-secret");
  EXPECT_EQ(FileMode(generated->path), 0600);
  EXPECT_THAT(generated->secret, SizeIs(64));
  EXPECT_EQ(generated->secret.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(GeneratedSecretTest, IsReusedOnTheNextStart) {
  const TempDir temp;
  const std::string data_dir = temp.path();
  absl::StatusOr<GeneratedSecret> first = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<GeneratedSecret> second = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->secret, first->secret);
  EXPECT_EQ(second->path, first->path);
}

TEST(GeneratedSecretTest, DiffersBetweenDataFolders) {
  const TempDir first;
  const TempDir second;
  absl::StatusOr<GeneratedSecret> a = LoadOrCreateGeneratedSecret(first.path());
  absl::StatusOr<GeneratedSecret> b = LoadOrCreateGeneratedSecret(second.path());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->secret, b->secret);
}

TEST(GeneratedSecretTest, LeavesNoTemporaryFilesBehind) {
  const TempDir temp;
  const std::string data_dir = temp.path();
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
  const TempDir temp;
  const std::string data_dir = temp.path();
  WriteFile(data_dir + "/webhook-signing-secret", "  pasted-secret \n");
  absl::StatusOr<GeneratedSecret> generated = LoadOrCreateGeneratedSecret(data_dir);
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_FALSE(generated->created);
  EXPECT_EQ(generated->secret, "pasted-secret");
}

TEST(GeneratedSecretTest, AnEmptySecretFileIsAnError) {
  const TempDir temp;
  const std::string data_dir = temp.path();
  WriteFile(data_dir + "/webhook-signing-secret", "\n");
  EXPECT_EQ(LoadOrCreateGeneratedSecret(data_dir).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ResolveSigningSecretsTest, FlagAndFileSecretsAreCombinedWithoutDuplicates) {
  const TempDir temp;
  const std::string dir = temp.path();
  WriteFile(dir + "/secrets", "b\nc\n");
  absl::StatusOr<ResolvedSigningSecrets> resolved =
      ResolveSigningSecrets({"a,b", dir + "/secrets", dir + "/data"});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_THAT(resolved->secrets, ElementsAre("a", "b", "c"));
  EXPECT_FALSE(resolved->generated.has_value());
  EXPECT_NE(access((dir + "/data/webhook-signing-secret").c_str(), F_OK), 0);
}

TEST(ResolveSigningSecretsTest, NothingConfiguredUsesTheGeneratedSecret) {
  const TempDir temp;
  const std::string data_dir = temp.path() + "/data";
  absl::StatusOr<ResolvedSigningSecrets> resolved = ResolveSigningSecrets({"", "", data_dir});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_TRUE(resolved->generated.has_value());
  EXPECT_THAT(resolved->secrets, ElementsAre(resolved->generated->secret));
  EXPECT_EQ(resolved->generated->path, data_dir + "/webhook-signing-secret");
}

TEST(ResolveSigningSecretsTest, NamedFileWithoutSecretsIsAnError) {
  const TempDir temp;
  const std::string dir = temp.path();
  WriteFile(dir + "/secrets", "# to be filled in\n");
  EXPECT_EQ(ResolveSigningSecrets({"", dir + "/secrets", dir}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResolveSigningSecretsTest, MissingFileIsAnError) {
  const TempDir temp;
  const std::string dir = temp.path();
  EXPECT_EQ(ResolveSigningSecrets({"a", dir + "/nope", dir}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace healthwire
