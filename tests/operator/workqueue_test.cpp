#include "operator/workqueue.h"

#include <gtest/gtest.h>

#include <thread>

namespace arca::op {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueueTest, AKeyIsHeldOnceAndTheEarlierDueTimeWins) {
  WorkQueue q;
  q.Add("a", 1h);
  q.Add("a");  // due now: wins over the hour
  q.Add("b", 50ms);
  EXPECT_EQ(q.Size(), 2u);
  EXPECT_EQ(q.Next(), "a");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(q.Next(), "b");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 40ms);
}

TEST(WorkQueueTest, AddedWhileProcessingRunsAgainAfterDone) {
  WorkQueue q;
  q.Add("a");
  ASSERT_EQ(q.Next(), "a");
  q.Add("a");  // a change arrived while "a" was being reconciled
  q.Add("b");
  EXPECT_EQ(q.Next(), "b");  // "a" is not handed to a second worker meanwhile
  q.Done("b");
  q.Done("a");
  EXPECT_EQ(q.Next(), "a");
}

TEST(WorkQueueTest, ShutdownWakesWaiters) {
  WorkQueue q;
  std::optional<std::string> got = "x";
  std::thread t([&] { got = q.Next(); });
  std::this_thread::sleep_for(20ms);
  q.Shutdown();
  t.join();
  EXPECT_FALSE(got.has_value());
  q.Add("late");
  EXPECT_EQ(q.Size(), 0u);
}

}  // namespace
}  // namespace arca::op
