#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "util/atomic_file.h"

namespace fs = std::filesystem;
using namespace roomrec;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
}  // namespace

TEST_CASE("AtomicFile: the target is the old file or the whole new one, never a temporary") {
  fs::path dir = fs::temp_directory_path() / ("roomrec-atomic-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string target = (dir / "a.bin").string();

  REQUIRE(util::write_file_atomic(target, reinterpret_cast<const uint8_t*>("old"), 3).is_ok());
  CHECK(slurp(target) == "old");
  {
    auto f = util::AtomicFile::create(target, ".part");
    REQUIRE(f.is_ok());
    CHECK(f->write(reinterpret_cast<const uint8_t*>("new bytes"), 9).is_ok());
    CHECK(fs::exists(target + ".part"));
    CHECK(slurp(target) == "old");  // not committed yet
  }  // abandoned: the temporary goes, the target stays
  CHECK(!fs::exists(target + ".part"));
  CHECK(slurp(target) == "old");

  auto f = util::AtomicFile::create(target, ".part");
  REQUIRE(f.is_ok());
  CHECK(f->write(reinterpret_cast<const uint8_t*>("new bytes"), 9).is_ok());
  CHECK(f->commit().is_ok());
  CHECK(slurp(target) == "new bytes");
  CHECK(!fs::exists(target + ".part"));
  CHECK(!f->commit().is_ok());  // once

  CHECK(util::fsync_dir(dir.string()).is_ok());
  CHECK(!util::fsync_dir((dir / "missing").string()).is_ok());
  auto bad = util::AtomicFile::create((dir / "missing" / "x").string());
  CHECK(!bad.is_ok());
  CHECK(bad.status().code() == ErrorCode::io);
  fs::remove_all(dir);
}
