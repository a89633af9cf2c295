// Writes seed inputs for the chunk reader fuzz corpus:
//   make_seed_chunks DIR
// (run once by hand; the outputs are committed under tests/fuzz/corpus/).
#include <roomrec/chunk_writer.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace roomrec;

static void save(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string dir = argv[1];
  ChunkHeader h;
  h.app = "app";
  h.room = "room";
  h.peer = "peer";
  h.session = 1;
  h.first_ts = 1700000000000;
  h.tracks.push_back({1, 1700000000000, {TrackKind::video, "video_main", "vp8", 90000, 0, "", 1, ""}});
  ChunkWriter w(h);
  w.add_join(1700000000000);
  TrackInfo opus{TrackKind::audio, "audio_main", "opus", 48000, 2, "useinbandfec=1", 2, ""};
  w.add_track_started(1700000000001, 2, opus);
  std::vector<uint8_t> rtp = {0x80, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, 0xDE, 0xAD};
  w.add_rtp(1700000000002, 2, rtp.data(), rtp.size());
  w.add_rtcp(1700000000003, rtp.data(), 8);
  std::string msg = "hi";
  w.add_data(1700000000004, "chat", false, reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  w.add_track_stopped(1700000000005, 2);
  w.add_leave(1700000000006);
  auto full = w.finish().to_vector();
  save(dir + "/full.rec", full);
  save(dir + "/truncated.rec", std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(full.size() / 2)));
  auto flipped = full;
  flipped[flipped.size() / 3] ^= 0x40;
  save(dir + "/flipped.rec", flipped);
  auto bad_len = full;
  bad_len[12 + 2] = 0xFF;
  bad_len[12 + 5] = 0x7F;
  save(dir + "/bad_length.rec", bad_len);
  return 0;
}
