#include "http/message.h"

#include <gtest/gtest.h>

namespace arca::http {
namespace {

TEST(MessageTest, HeaderLookupIsCaseInsensitiveAndReturnsFirst) {
  Request req;
  req.headers = {{"X-Amz-Target", "secretsmanager.GetSecretValue"}, {"x-amz-target", "second"}};
  ASSERT_TRUE(req.Header("x-AMZ-target"));
  EXPECT_EQ(*req.Header("x-AMZ-target"), "secretsmanager.GetSecretValue");
  EXPECT_FALSE(req.Header("X-Amz-Date"));
}

TEST(MessageTest, PathAndQuery) {
  Request req;
  req.target = "/v1/secret/data/app?version=2&x=y";
  EXPECT_EQ(req.Path(), "/v1/secret/data/app");
  EXPECT_EQ(req.Query(), "version=2&x=y");
  req.target = "/";
  EXPECT_EQ(req.Path(), "/");
  EXPECT_EQ(req.Query(), "");
}

TEST(MessageTest, SetHeaderReplacesCaseInsensitively) {
  Response res;
  res.SetHeader("Content-Type", "text/plain");
  res.SetHeader("content-type", "application/json");
  res.SetHeader("X-Other", "1");
  ASSERT_EQ(res.headers.size(), 2u);
  EXPECT_EQ(res.headers[0].first, "Content-Type");
  EXPECT_EQ(res.headers[0].second, "application/json");
}

}  // namespace
}  // namespace arca::http
