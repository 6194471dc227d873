#include "server/webhook/signature_verifier.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Terra's own test vector (terra-client-java's tests).
constexpr char kVectorSecret[] = "foo";
constexpr char kVectorBody[] = "{'bar':'baz'}";
constexpr int64_t kVectorTime = 12345678;
constexpr char kVectorSignature[] =
    "599aa529690b885a43f184327c582375068d70705b7a471af15e10682c6f5313";

constexpr char kBody[] = R"({"type":"sleep","user":{"user_id":"u1"},"data":[]})";
constexpr int64_t kNow = 1780000000;

SignatureVerifier MakeVerifier(std::vector<std::string> secrets,
                               SignatureVerifier::Options options = {}) {
  absl::StatusOr<SignatureVerifier> verifier = SignatureVerifier::Create(secrets, options);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *verifier;
}

absl::Time At(int64_t unix_seconds) { return absl::FromUnixSeconds(unix_seconds); }

// The v1 value of a header made by Sign().
std::string V1Of(const std::string& header) {
  return header.substr(header.find("v1=") + 3);
}

TEST(SignatureVerifierTest, TerraTestVectorVerifies) {
  SignatureVerifier verifier = MakeVerifier({kVectorSecret});
  EXPECT_TRUE(verifier
                  .Verify(absl::StrCat("t=", kVectorTime, ",v1=", kVectorSignature), kVectorBody,
                          At(kVectorTime))
                  .ok());
}

TEST(SignatureVerifierTest, SignReproducesTerraTestVector) {
  EXPECT_EQ(SignatureVerifier::Sign(kVectorSecret, kVectorTime, kVectorBody),
            absl::StrCat("t=", kVectorTime, ",v1=", kVectorSignature));
}

TEST(SignatureVerifierTest, SignedHeaderVerifies) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  EXPECT_TRUE(verifier.Verify(SignatureVerifier::Sign("s3cret", kNow, kBody), kBody, At(kNow)).ok());
}

TEST(SignatureVerifierTest, AnyOfSeveralV1ValuesMatches) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const std::string good = V1Of(SignatureVerifier::Sign("s3cret", kNow, kBody));
  const std::string other = V1Of(SignatureVerifier::Sign("other", kNow, kBody));
  EXPECT_TRUE(verifier
                  .Verify(absl::StrCat("t=", kNow, ",v1=", other, ",v1=", good), kBody, At(kNow))
                  .ok());
  EXPECT_TRUE(verifier
                  .Verify(absl::StrCat("t=", kNow, ",v1=", good, ",v1=", other), kBody, At(kNow))
                  .ok());
}

TEST(SignatureVerifierTest, SecondOfSeveralSecretsMatches) {
  SignatureVerifier verifier = MakeVerifier({"first", "second", "third"});
  EXPECT_TRUE(verifier.Verify(SignatureVerifier::Sign("second", kNow, kBody), kBody, At(kNow)).ok());
}

TEST(SignatureVerifierTest, WrongSecretIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"right"});
  absl::Status status = verifier.Verify(SignatureVerifier::Sign("wrong", kNow, kBody), kBody, At(kNow));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "signature does not match any configured secret");
}

TEST(SignatureVerifierTest, ChangedBodyIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  absl::Status status = verifier.Verify(SignatureVerifier::Sign("s3cret", kNow, kBody),
                                        absl::StrCat(kBody, " "), At(kNow));
  EXPECT_EQ(status.message(), "signature does not match any configured secret");
}

TEST(SignatureVerifierTest, ChangedTimestampIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const std::string v1 = V1Of(SignatureVerifier::Sign("s3cret", kNow, kBody));
  absl::Status status =
      verifier.Verify(absl::StrCat("t=", kNow + 1, ",v1=", v1), kBody, At(kNow));
  EXPECT_EQ(status.message(), "signature does not match any configured secret");
}

TEST(SignatureVerifierTest, MissingHeaderIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  for (const char* header : {"", "   "}) {
    absl::Status status = verifier.Verify(header, kBody, At(kNow));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(status.message(), "missing terra-signature header") << "header: '" << header << "'";
  }
}

TEST(SignatureVerifierTest, GarbledHeadersAreMalformed) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const std::string v1 = V1Of(SignatureVerifier::Sign("s3cret", kNow, kBody));
  const std::vector<std::string> garbled = {
      absl::StrCat("v1=", v1),                                  // no t
      absl::StrCat("t=", kNow),                                 // no v1
      absl::StrCat("t=", kNow, ",v0=", v1),                     // only another scheme
      absl::StrCat("t=", kNow, ",v1=", std::string(64, 'z')),   // not hex
      absl::StrCat("t=", kNow, ",v1=", v1.substr(0, 63)),       // too short
      absl::StrCat("t=", kNow, ",v1=", v1, "00"),               // too long
      absl::StrCat("t=abc,v1=", v1),                            // non-numeric t
      absl::StrCat("t=-5,v1=", v1),                             // negative t
      absl::StrCat("t=", kNow, "x,v1=", v1),                    // trailing junk in t
      absl::StrCat("t=99999999999999999999999,v1=", v1),        // t out of range
      absl::StrCat("t=,v1=", v1),                               // empty t
      absl::StrCat("t=", kNow, ",v1="),                         // empty v1
      absl::StrCat("t=", kNow, ",t=", kNow, ",v1=", v1),        // two t
      absl::StrCat("t", kNow, ",v1=", v1),                      // part without '='
      "garbage",
      ",,,",
  };
  for (const std::string& header : garbled) {
    absl::Status status = verifier.Verify(header, kBody, At(kNow));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(status.message(), HasSubstr("malformed terra-signature header: ")) << header;
  }
}

TEST(SignatureVerifierTest, WhitespaceAroundPartsIsTolerated) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const std::string v1 = V1Of(SignatureVerifier::Sign("s3cret", kNow, kBody));
  EXPECT_TRUE(
      verifier.Verify(absl::StrCat("  t = ", kNow, " ,\tv1= ", v1, " "), kBody, At(kNow)).ok());
}

TEST(SignatureVerifierTest, UppercaseHexIsAccepted) {
  SignatureVerifier verifier = MakeVerifier({kVectorSecret});
  std::string upper = kVectorSignature;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_TRUE(verifier
                  .Verify(absl::StrCat("t=", kVectorTime, ",v1=", upper), kVectorBody,
                          At(kVectorTime))
                  .ok());
}

TEST(SignatureVerifierTest, OtherSchemesAreIgnored) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const std::string v1 = V1Of(SignatureVerifier::Sign("s3cret", kNow, kBody));
  EXPECT_TRUE(verifier
                  .Verify(absl::StrCat("t=", kNow, ",v0=not-even-hex,v1=", v1, ",v2=abc"), kBody,
                          At(kNow))
                  .ok());
}

TEST(SignatureVerifierTest, ExpiredTimestampIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const int64_t signed_at = kNow - 37 * 3600;
  absl::Status status =
      verifier.Verify(SignatureVerifier::Sign("s3cret", signed_at, kBody), kBody, At(kNow));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("signature timestamp outside the allowed window ("));
  EXPECT_THAT(status.message(), HasSubstr("in the past"));
}

TEST(SignatureVerifierTest, FutureTimestampIsRejected) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const int64_t signed_at = kNow + 37 * 3600;
  absl::Status status =
      verifier.Verify(SignatureVerifier::Sign("s3cret", signed_at, kBody), kBody, At(kNow));
  EXPECT_THAT(status.message(), HasSubstr("signature timestamp outside the allowed window ("));
  EXPECT_THAT(status.message(), HasSubstr("in the future"));
}

TEST(SignatureVerifierTest, DefaultWindowAcceptsADayOldRetry) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  const int64_t signed_at = kNow - 25 * 3600;
  EXPECT_TRUE(
      verifier.Verify(SignatureVerifier::Sign("s3cret", signed_at, kBody), kBody, At(kNow)).ok());
}

TEST(SignatureVerifierTest, ToleranceIsConfigurable) {
  SignatureVerifier::Options options;
  options.timestamp_tolerance = absl::Seconds(300);
  SignatureVerifier verifier = MakeVerifier({"s3cret"}, options);
  EXPECT_TRUE(
      verifier.Verify(SignatureVerifier::Sign("s3cret", kNow - 300, kBody), kBody, At(kNow)).ok());
  EXPECT_FALSE(
      verifier.Verify(SignatureVerifier::Sign("s3cret", kNow - 301, kBody), kBody, At(kNow)).ok());
}

TEST(SignatureVerifierTest, BadSignatureWinsOverExpiredTimestamp) {
  // "expired" is only said about genuinely signed deliveries.
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  absl::Status status = verifier.Verify(SignatureVerifier::Sign("wrong", kNow - 40 * 3600, kBody),
                                        kBody, At(kNow));
  EXPECT_EQ(status.message(), "signature does not match any configured secret");
}

TEST(SignatureVerifierTest, MessagesNeverContainTheSecret) {
  const std::string secret = "super-secret-value-1234";
  SignatureVerifier verifier = MakeVerifier({secret, "second-secret-5678"});
  const std::vector<std::string> headers = {
      "",
      "garbage",
      absl::StrCat("t=", kNow, ",v1=", secret),
      SignatureVerifier::Sign("wrong", kNow, kBody),
      SignatureVerifier::Sign(secret, kNow - 100 * 3600, kBody),
      absl::StrCat("t=", secret, ",v1=", std::string(64, 'a')),
  };
  for (const std::string& header : headers) {
    absl::Status status = verifier.Verify(header, kBody, At(kNow));
    ASSERT_FALSE(status.ok()) << header;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret))) << header;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("second-secret"))) << header;
  }
}

TEST(SignatureVerifierTest, CreateRejectsNoSecrets) {
  EXPECT_EQ(SignatureVerifier::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SignatureVerifierTest, CreateRejectsAnEmptySecret) {
  EXPECT_EQ(SignatureVerifier::Create({"ok", ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SignatureVerifierTest, EmptyBodyCanBeSignedAndVerified) {
  SignatureVerifier verifier = MakeVerifier({"s3cret"});
  EXPECT_TRUE(verifier.Verify(SignatureVerifier::Sign("s3cret", kNow, ""), "", At(kNow)).ok());
}

}  // namespace
}  // namespace healthwire
