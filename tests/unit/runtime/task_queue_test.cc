// TaskQueue: tasks run in order on one worker, side by side on several; the queue is bounded; the
// destructor runs what is queued.
#include "runtime/task_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::runtime {
namespace {

TEST(TaskQueue, OneWorkerRunsTasksInOrderAndTheDestructorDrainsThem) {
  std::vector<int> ran;
  {
    TaskQueue queue(100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(queue.Push([&ran, i] { ran.push_back(i); }));
  }
  ASSERT_EQ(ran.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
}

TEST(TaskQueue, SeveralWorkersRunTasksAtOnce) {
  // Three tasks that each wait until all three run: only three workers get them all through.
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, done = 0;
  {
    TaskQueue queue(10, 3);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(queue.Push([&] {
        std::unique_lock lock(mu);
        ++running;
        cv.notify_all();
        if (cv.wait_for(lock, std::chrono::seconds(10), [&] { return running == 3; })) ++done;
      }));
    }
  }
  EXPECT_EQ(done, 3);
}

TEST(TaskQueue, RefusesPastItsCapacity) {
  std::mutex gate;
  std::unique_lock hold(gate);
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  TaskQueue queue(2);
  ASSERT_TRUE(queue.Push([&] {
    started = true;
    std::lock_guard wait(gate);  // the worker blocks here until the test lets go
    ++ran;
  }));
  while (!started) std::this_thread::yield();
  // The worker holds the first task: two more wait, the fourth is refused.
  EXPECT_TRUE(queue.Push([&] { ++ran; }));
  EXPECT_TRUE(queue.Push([&] { ++ran; }));
  EXPECT_FALSE(queue.Push([&] { ++ran; }));
  hold.unlock();
}

}  // namespace
}  // namespace ferry::runtime
