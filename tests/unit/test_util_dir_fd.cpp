// SPDX-License-Identifier: MIT
// Files opened relative to one directory descriptor (never through a link, never a FIFO or a
// device), and ssh's rule for the directories above a store ksign writes to: other users,
// groups that are neither root's nor the owner's private one, the user who ran sudo.
#include "catch.hpp"

#include "test_support.hpp"
#include "util/dir_fd.hpp"
#include "util/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace ksign;
namespace fs = std::filesystem;

TEST_CASE("util::DirFd reads what is in the directory, never through a link", "[dir_fd]")
{
  const test::TempDir tmp;
  const fs::path dir = tmp.path() / "d";
  fs::create_directories(dir / "sub");
  test::write_text(dir / "file", "text\n");
  test::write_text(tmp.path() / "outside", "secret\n");
  fs::create_symlink(tmp.path() / "outside", dir / "link");
  fs::create_directory_symlink(tmp.path(), dir / "dirlink");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);

  const util::DirFd opened(dir);
  CHECK(opened.names() == std::vector<std::string>{"dirlink", "fifo", "file", "link", "sub"});
  CHECK(opened.read_regular("file", 100) == Bytes{'t', 'e', 'x', 't', '\n'});
  CHECK_FALSE(opened.read_regular("missing", 100).has_value());
  CHECK_THROWS_WITH(opened.read_regular("link", 100), KSIGN_CONTAINS("is a symbolic link; ksign does not follow it"));
  // A FIFO is refused at once (opened without blocking), not read.
  CHECK_THROWS_WITH(opened.read_regular("fifo", 100), KSIGN_CONTAINS("is not a regular file"));
  CHECK_THROWS_WITH(opened.read_regular("sub", 100), KSIGN_CONTAINS("is not a regular file"));

  CHECK(opened.read_link("link") == (tmp.path() / "outside").string());
  CHECK_FALSE(opened.read_link("file").has_value());
  CHECK_FALSE(opened.read_link("missing").has_value());
  REQUIRE(opened.status("link").has_value());
  CHECK(S_ISLNK(opened.status("link")->st_mode));
  CHECK_FALSE(opened.status("missing").has_value());

  const std::optional<util::DirFd> sub = opened.open_directory("sub");
  REQUIRE(sub.has_value());
  CHECK(sub->path() == dir / "sub");
  CHECK_FALSE(opened.open_directory("missing").has_value());
  CHECK_THROWS_WITH(opened.open_directory("dirlink"), KSIGN_CONTAINS("is a symbolic link; ksign does not follow it"));
  CHECK_THROWS_WITH(opened.open_directory("file"), KSIGN_CONTAINS("is not a directory"));
}

TEST_CASE("util::unsafe_directories: ssh's rule for groups", "[dir_fd]")
{
  const test::TempDir tmp;
  const fs::path above = tmp.path() / "above";
  fs::create_directories(above / "store");
  ::chmod(above.c_str(), 0755);
  ::chmod((above / "store").c_str(), 0700);
  const uid_t me = ::geteuid();
  const uid_t owners[] = {0, me};
  CHECK(util::unsafe_directories(above / "store", owners, true).empty());
  if (me != 0) {
    return; // chgrp to a group of one's choice needs root
  }
  // A group other than root's that can write to a directory above: its members could swap the store.
  const gid_t group = 50; // staff on Debian; any group not root's and no user's private group
  if (::chown(above.c_str(), 0, group) != 0 || ::chmod(above.c_str(), 0775) != 0) {
    return;
  }
  std::vector<util::UnsafeDirectory> unsafe = util::unsafe_directories(above / "store", owners, true);
  REQUIRE(unsafe.size() == 1);
  CHECK(unsafe.front().directory == above);
  CHECK(unsafe.front().why == util::UnsafeDirectory::Why::group_can_write);
  CHECK(unsafe.front().group == group);
  // Without owners (the loose-key warning), only "anyone can write" counts.
  CHECK(util::unsafe_directories(above / "store").empty());
  // The sticky bit makes a directory above safe, not the store itself.
  ::chmod(above.c_str(), 01775);
  CHECK(util::unsafe_directories(above / "store", owners, true).empty());
  (void)::chown((above / "store").c_str(), 0, group);
  ::chmod((above / "store").c_str(), 03770);
  unsafe = util::unsafe_directories(above / "store", owners, true);
  REQUIRE(unsafe.size() == 1);
  CHECK(unsafe.front().directory == above / "store");
  // Root's group is as strong as root.
  (void)::chown((above / "store").c_str(), 0, 0);
  (void)::chown(above.c_str(), 0, 0);
  ::chmod(above.c_str(), 0775);
  CHECK(util::unsafe_directories(above / "store", owners, true).empty());
}

TEST_CASE("util::sudo_invoker: SUDO_UID only for a real root and a uid that names a user", "[dir_fd]")
{
  CHECK_FALSE(util::sudo_invoker(nullptr).has_value());
  CHECK_FALSE(util::sudo_invoker("").has_value());
  CHECK_FALSE(util::sudo_invoker("0x").has_value());
  CHECK_FALSE(util::sudo_invoker("-1").has_value());
  CHECK_FALSE(util::sudo_invoker("4294967295").has_value()); // (uid_t)-1
  CHECK_FALSE(util::sudo_invoker("3999999999").has_value()); // no such user
  CHECK_FALSE(util::sudo_invoker(" 0").has_value());
  if (::getuid() == 0) {
    CHECK(util::sudo_invoker("0") == uid_t{0});
  } else {
    CHECK_FALSE(util::sudo_invoker("0").has_value()); // not run by root: SUDO_UID means nothing
  }
}
