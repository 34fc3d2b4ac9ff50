#include "core/file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "core/random.h"

namespace ferry::core {
namespace {

TEST(WriteAllTest, WritesEveryByteThroughAPipeThatTakesThemInPieces) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // More than a pipe's buffer (64 KiB): the writes come back short while a reader drains it.
  const std::string bytes(300000, 'x');
  std::string read;
  std::thread reader([&] {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) read.append(buffer, static_cast<std::size_t>(n));
  });
  EXPECT_TRUE(WriteAll(fds[1], bytes));
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(read, bytes);
}

TEST(WriteAllTest, AFailedWriteSaysWhyInErrno) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_FALSE(WriteAll(fd, "some bytes"));
  EXPECT_EQ(errno, ENOSPC);
  ::close(fd);
}

TEST(RandomTest, DrawsAreInTheUnitIntervalAndSpreadOverIt) {
  int below_half = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = RandomUnit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    below_half += u < 0.5;
  }
  EXPECT_NEAR(below_half, 50000, 1000);  // 6 standard deviations
  EXPECT_NE(RandomU64(), RandomU64());
}

}  // namespace
}  // namespace ferry::core
