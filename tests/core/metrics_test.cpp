#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace arca::metrics {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, RendersCountersHistogramAndCollectors) {
  Registry r;
  r.RecordRequest("secretsmanager", "GetSecretValue", "success", 0.0003);
  r.RecordRequest("secretsmanager", "GetSecretValue", "success", 0.002);
  r.RecordRequest("secretsmanager", "GetSecretValue", "denied", 0.0001);
  r.AddCollector([](std::string& out) { out += "# TYPE arca_audit_batches_total counter\narca_audit_batches_total 7\n"; });
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# TYPE arca_requests_total counter")) << text;
  EXPECT_TRUE(Has(text, "arca_requests_total{service=\"secretsmanager\",action=\"GetSecretValue\",outcome=\"success\"} 2"));
  EXPECT_TRUE(Has(text, "arca_requests_total{service=\"secretsmanager\",action=\"GetSecretValue\",outcome=\"denied\"} 1"));
  EXPECT_TRUE(Has(text, "arca_denied_requests_total{service=\"secretsmanager\"} 1"));
  EXPECT_TRUE(Has(text, "arca_request_duration_seconds_bucket{service=\"secretsmanager\",le=\"0.0001\"} 1")) << text;
  EXPECT_TRUE(Has(text, "arca_request_duration_seconds_bucket{service=\"secretsmanager\",le=\"0.0005\"} 2"));
  EXPECT_TRUE(Has(text, "arca_request_duration_seconds_bucket{service=\"secretsmanager\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(text, "arca_request_duration_seconds_count{service=\"secretsmanager\"} 3"));
  EXPECT_TRUE(Has(text, "arca_audit_batches_total 7"));
}

TEST(MetricsTest, ConcurrentRecordingCountsEverything) {
  Registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 1000; ++i) r.RecordRequest("sts", i % 2 ? "A" : "B", t % 2 ? "success" : "denied", 0.001);
    });
  }
  for (auto& t : threads) t.join();
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "arca_request_duration_seconds_count{service=\"sts\"} 4000")) << text;
  EXPECT_TRUE(Has(text, "arca_denied_requests_total{service=\"sts\"} 2000"));
}

TEST(MetricsTest, EscapesLabels) { EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

}  // namespace
}  // namespace arca::metrics
