#include <doctest/doctest.h>

#include <roomrec/chunk_key.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace roomrec;

TEST_CASE("chunk keys have the documented layout and parse back") {
  ChunkKey k;
  k.prefix = "records";
  k.app = "app";
  k.room = "room";
  k.room_record_id = "1731132577151";
  k.peer = "alice";
  k.session = 77;
  k.index = 12;
  k.from_ts = 1000;
  k.to_ts = 2000;
  CHECK(k.to_string() == "records/app/room/1731132577151/alice/77/000012-1000-2000.rec");
  CHECK(k.room_path() == "records/app/room/1731132577151");
  CHECK(k.session_path() == "records/app/room/1731132577151/alice/77");
  auto p = ChunkKey::parse(k.to_string());
  REQUIRE(p.has_value());
  CHECK(*p == k);

  k.prefix = "";
  CHECK(k.to_string() == "app/room/1731132577151/alice/77/000012-1000-2000.rec");
  CHECK(ChunkKey::parse(k.to_string()).value() == k);
  k.prefix = "a/b/c";
  CHECK(ChunkKey::parse(k.to_string()).value() == k);
}

TEST_CASE("awkward names stay one path component and round trip") {
  ChunkKey k;
  k.app = "my app";
  k.room = "room/with/slashes";
  k.room_record_id = "r%1";
  k.peer = "pe\xC3\xA9r\n";
  k.session = 1;
  auto s = k.to_string();
  CHECK(s == "my app/room%2Fwith%2Fslashes/r%251/pe\xC3\xA9r%0A/1/000000-0-0.rec");
  CHECK(ChunkKey::parse(s).value() == k);
  k.peer = "..";
  CHECK(ChunkKey::parse(k.to_string()).value() == k);
  CHECK(k.to_string().find("/../") == std::string::npos);
}

TEST_CASE("malformed keys are rejected") {
  for (const char* bad : {"", "a/b/c/d/e/0-1-2.rec", "app/room/rec/peer/x/000001-1-2.rec",
                          "app/room/rec/peer/1/000001-1-2.bin", "app/room/rec/peer/1/1-2.rec",
                          "app/room/rec/peer/1/a-1-2.rec", "app/room/rec/peer/1/1-5-2.rec",
                          "app/room//peer/1/1-1-2.rec", "app/room/rec/peer/1/1-1-2-3.rec",
                          "app/room/rec/peer/1/%zz-1-2.rec", "app/room/rec/p%zz/1/1-1-2.rec"}) {
    CHECK_MESSAGE(!ChunkKey::parse(bad).has_value(), bad);
  }
}

TEST_CASE("keys order numerically: chunk 2 before chunk 10, padded or not") {
  std::vector<ChunkKey> keys;
  std::vector<std::string> reference_names;  // unpadded, as the reference writes them
  for (uint32_t i = 0; i <= 20; ++i) {
    ChunkKey k;
    k.app = "a";
    k.room = "r";
    k.room_record_id = "1";
    k.peer = "p";
    k.session = 5;
    k.index = i;
    k.from_ts = 1000 + i * 60000;
    k.to_ts = k.from_ts + 59999;
    keys.push_back(k);
    reference_names.push_back(std::to_string(i) + "-" + std::to_string(k.from_ts) + "-" + std::to_string(k.to_ts) +
                              ".rec");
  }
  std::mt19937 rng(42);
  std::shuffle(keys.begin(), keys.end(), rng);
  std::sort(keys.begin(), keys.end());
  for (uint32_t i = 0; i <= 20; ++i) CHECK(keys[i].index == i);

  // Padded names also sort right as plain strings.
  std::vector<std::string> padded;
  for (auto& k : keys) padded.push_back(k.to_string());
  std::shuffle(padded.begin(), padded.end(), rng);
  std::sort(padded.begin(), padded.end());
  for (uint32_t i = 0; i <= 20; ++i) CHECK(ChunkKey::parse(padded[i])->index == i);

  // Unpadded reference names sort wrong as strings but right when parsed.
  std::vector<std::string> names = reference_names;
  std::sort(names.begin(), names.end());
  CHECK(names[2].rfind("10-", 0) == 0);  // the reference's bug: "10" < "2"
  std::vector<ChunkFileName> parsed;
  for (auto& n : names) parsed.push_back(parse_chunk_file_name(n).value());
  std::sort(parsed.begin(), parsed.end(), [](auto& a, auto& b) { return a.index < b.index; });
  for (uint32_t i = 0; i <= 20; ++i) CHECK(parsed[i].index == i);
}

TEST_CASE("sessions order numerically too") {
  ChunkKey a, b;
  a.app = b.app = "x";
  a.room = b.room = "r";
  a.room_record_id = b.room_record_id = "1";
  a.peer = b.peer = "p";
  a.session = 9;
  b.session = 10;
  CHECK(a < b);
  CHECK(ChunkKey::parse(a.to_string()).value() < ChunkKey::parse(b.to_string()).value());
}
