// The informer's list + watch cycle against a scripted API server: resuming from the last
// resourceVersion (bookmarks included), and a new list after a 410 that reports what changed meanwhile.
#include "operator/kube/informer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <mutex>
#include <thread>

#include "../fakes/http_server.h"

namespace arca::op::kube {
namespace {

namespace bj = boost::json;

std::string Obj(const std::string& name, const std::string& rv) {
  return R"({"metadata":{"name":")" + name + R"(","namespace":"ns","resourceVersion":")" + rv + R"("}})";
}

std::string List(const std::string& rv, const std::vector<std::string>& items) {
  std::string out = R"({"kind":"List","metadata":{"resourceVersion":")" + rv + R"("},"items":[)";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]}";
}

std::string Param(const std::string& target, const std::string& name) {
  const std::size_t at = target.find(name + "=");
  if (at == std::string::npos) return "";
  const std::size_t end = target.find('&', at);
  return target.substr(at + name.size() + 1, end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
}

TEST(InformerTest, ResumesFromTheLastVersionAndListsAgainAfterGone) {
  std::mutex mu;
  std::vector<std::string> watches;  // resourceVersion of each watch request
  int lists = 0;
  testing::FakeHttpServer api([&](const testing::FakeRequest& req) {
    std::lock_guard<std::mutex> lock(mu);
    testing::FakeResponse r;
    r.headers.emplace_back("Content-Type", "application/json");
    if (Param(req.target, "watch") != "1") {
      ++lists;
      r.body = lists == 1 ? List("10", {Obj("a", "5"), Obj("b", "6")}) : List("20", {Obj("a", "5"), Obj("c", "11")});
      return r;
    }
    watches.push_back(Param(req.target, "resourceVersion"));
    if (watches.size() == 1) {
      r.body = R"({"type":"ADDED","object":)" + Obj("c", "11") + "}\n" +
               R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})" + "\n";
    } else if (watches.size() == 2) {
      r.body = R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"25"}}})" "\n";
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return r;
  });
  KubeConfig cfg;
  cfg.server = "http://127.0.0.1:" + std::to_string(api.port());
  KubeClient client(cfg);
  std::vector<std::string> events;
  Informer inf(client, "/api/v1/things", "", [&](EventType t, const bj::object& o) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::string(t == EventType::kAdded ? "+" : t == EventType::kDeleted ? "-" : "~") + KeyOf(o));
  });
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (watches.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  t.join();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(watches.size(), 3u);
  EXPECT_EQ(watches[0], "10");  // from the first list
  EXPECT_EQ(watches[1], "20");  // after the 410, from the second list
  EXPECT_EQ(watches[2], "25");  // from the bookmark
  EXPECT_EQ(lists, 2);
  // The first list, the watched ADDED, then the second list's news: b is gone (c was seen already).
  EXPECT_EQ(events, (std::vector<std::string>{"+ns/a", "+ns/b", "+ns/c", "-ns/b"}));
  EXPECT_TRUE(inf.Synced());
  EXPECT_TRUE(inf.Get("ns/a").has_value());
  EXPECT_FALSE(inf.Get("ns/b").has_value());
  EXPECT_EQ(inf.List().size(), 2u);
}

}  // namespace
}  // namespace arca::op::kube
