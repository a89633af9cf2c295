// Rooms with H264 and AV1 video (real encoders: libx264 sending RTP, libaom
// through ffmpeg's obu muxer, packetized here), and the oracles the MP4 tests
// compare against: each frame as assembled from the RTP payloads by code
// independent of roomrec's depacketizers, and ffmpeg's per-packet MD5 of a file.
#pragma once

#include <openssl/evp.h>
#include <roomrec/recorder.h>
#include <roomrec/upload_queue.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../media_synth.h"
#include "h264_capture.h"
#include "room_builder.h"

namespace roomrec::testing {

using Bytes = std::vector<uint8_t>;

inline std::string md5_hex(const uint8_t* p, size_t n) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(p, n, d, &len, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[d[i] >> 4];
    s += hex[d[i] & 15];
  }
  return s;
}

// The MD5 of every packet of a file's first stream of `type` ("v" or "a"),
// as stored (ffmpeg -c copy -f framemd5).
inline std::vector<std::string> packet_md5s(const std::string& path, const char* type = "v") {
  std::string out = run_capture(std::string("ffmpeg -nostdin -v error -i '") + path + "' -map 0:" + type +
                                ":0 -c copy -f framemd5 - 2>/dev/null");
  std::vector<std::string> md5s;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    std::string m = line.substr(comma + 1);
    while (!m.empty() && m.front() == ' ') m.erase(m.begin());
    md5s.push_back(m);
  }
  return md5s;
}

// RTP payload (after header, CSRCs, extension; padding removed).
inline Bytes rtp_payload(const Bytes& p) {
  size_t off = 12 + 4 * (p[0] & 0x0F);
  if (p[0] & 0x10) off += 4 + 4 * ((size_t{p[off + 2]} << 8) | p[off + 3]);
  size_t end = p.size();
  if (p[0] & 0x20) end -= p.back();
  return Bytes(p.begin() + static_cast<long>(off), p.begin() + static_cast<long>(end));
}

inline uint32_t rtp_ts(const Bytes& p) {
  return (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | p[7];
}

// H264 frames from RTP (RFC 6184 single NAL, STAP-A, FU-A; no loss), each NAL
// unit prefixed with its 4-byte length: what an MP4 sample must hold.
inline std::vector<Bytes> h264_frames_from_rtp(const std::vector<Bytes>& packets) {
  std::vector<Bytes> frames;
  Bytes cur;
  bool have = false;
  uint32_t ts = 0;
  size_t fu_at = 0;
  auto add = [&](const uint8_t* nal, size_t n) {
    for (int k = 0; k < 4; ++k) cur.push_back(static_cast<uint8_t>(n >> (24 - 8 * k)));
    cur.insert(cur.end(), nal, nal + n);
  };
  for (const auto& p : packets) {
    if (have && rtp_ts(p) != ts) {
      frames.push_back(cur);
      cur.clear();
    }
    have = true;
    ts = rtp_ts(p);
    Bytes pl = rtp_payload(p);
    const uint8_t type = pl[0] & 0x1F;
    if (type >= 1 && type <= 23) {
      add(pl.data(), pl.size());
    } else if (type == 24) {
      for (size_t off = 1; off + 2 <= pl.size();) {
        size_t len = (size_t{pl[off]} << 8) | pl[off + 1];
        add(pl.data() + off + 2, len);
        off += 2 + len;
      }
    } else if (type == 28) {
      if (pl[1] & 0x80) {
        fu_at = cur.size();
        cur.insert(cur.end(), 4, 0);
        cur.push_back(static_cast<uint8_t>((pl[0] & 0xE0) | (pl[1] & 0x1F)));
      }
      cur.insert(cur.end(), pl.begin() + 2, pl.end());
      if (pl[1] & 0x40) {
        size_t len = cur.size() - fu_at - 4;
        for (int k = 0; k < 4; ++k) cur[fu_at + k] = static_cast<uint8_t>(len >> (24 - 8 * k));
      }
    }
  }
  if (have) frames.push_back(cur);
  return frames;
}

// Adds a one-byte-header extension element (RFC 8285) with one byte of value.
inline Bytes with_extension(const Bytes& p, uint8_t id, uint8_t value) {
  const size_t head = 12 + 4 * (p[0] & 0x0F);
  Bytes out(p.begin(), p.begin() + static_cast<long>(head));
  out[0] |= 0x10;
  const uint8_t ext[] = {0xBE, 0xDE, 0x00, 0x01, static_cast<uint8_t>((id << 4) | 0), value, 0, 0};
  out.insert(out.end(), ext, ext + sizeof ext);
  out.insert(out.end(), p.begin() + static_cast<long>(head), p.end());
  return out;
}

inline void put_leb128(Bytes& b, uint64_t v) {
  do {
    uint8_t x = v & 0x7F;
    v >>= 7;
    if (v) x |= 0x80;
    b.push_back(x);
  } while (v);
}

// An AV1 stream made by libaom (through ffmpeg's obu muxer), as RTP packets
// (AV1 RTP payload format: one OBU element per packet, without obu_size,
// fragmented over packets when large; N=1 on a new coded video sequence),
// with the frames an MP4 must hold: each temporal unit's OBUs without the
// temporal delimiter, each with its minimal obu_size (the RTP payloads' OBUs).
struct Av1Stream {
  std::vector<Bytes> packets;
  std::vector<uint64_t> at_ms;  // capture time from the first frame
  std::vector<Bytes> frames;
  bool ok = false;
  std::string error;
};

inline Av1Stream make_av1_stream(const std::string& dir, int frames, int fps, const std::string& size) {
  Av1Stream s;
  const std::string obu = dir + "/src.obu";
  int st = 0;
  s.error = run_capture("ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=" + size + ":rate=" +
                            std::to_string(fps) + " -frames:v " + std::to_string(frames) +
                            " -pix_fmt yuv420p -c:v libaom-av1 -cpu-used 8 -usage realtime -g " + std::to_string(fps) +
                            " -f obu '" + obu + "' 2>&1",
                        &st);
  if (st != 0) return s;
  std::ifstream in(obu, std::ios::binary);
  Bytes all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Temporal units: a temporal delimiter starts each.
  std::vector<std::vector<Bytes>> tus;  // OBUs without obu_size: header (+ext) and payload
  for (size_t off = 0; off < all.size();) {
    const uint8_t h = all[off];
    const size_t hl = (h & 0x04) ? 2 : 1;
    uint64_t len = 0;
    size_t lb = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = all[off + hl + lb++];
      len |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) break;
    }
    const int type = (h >> 3) & 0x0F;
    Bytes unsized(all.begin() + static_cast<long>(off), all.begin() + static_cast<long>(off + hl));
    unsized[0] &= static_cast<uint8_t>(~0x02);
    unsized.insert(unsized.end(), all.begin() + static_cast<long>(off + hl + lb),
                   all.begin() + static_cast<long>(off + hl + lb + len));
    off += hl + lb + len;
    if (type == 2) {
      tus.emplace_back();
      continue;
    }
    if (tus.empty()) tus.emplace_back();
    tus.back().push_back(std::move(unsized));
  }
  uint16_t seq = 3000;
  for (size_t i = 0; i < tus.size(); ++i) {
    Bytes frame;
    bool seq_header = false;
    for (auto& o : tus[i]) {
      const size_t hl = (o[0] & 0x04) ? 2 : 1;
      seq_header = seq_header || ((o[0] >> 3) & 0x0F) == 1;
      frame.insert(frame.end(), o.begin(), o.begin() + static_cast<long>(hl));
      frame[frame.size() - hl] |= 0x02;
      put_leb128(frame, o.size() - hl);
      frame.insert(frame.end(), o.begin() + static_cast<long>(hl), o.end());
    }
    s.frames.push_back(frame);
    const uint32_t ts = 7000 + static_cast<uint32_t>(i * 90000 / fps);
    const uint64_t at = i * 1000 / fps;
    bool first = true;
    for (size_t k = 0; k < tus[i].size(); ++k) {
      const Bytes& o = tus[i][k];
      const size_t max = 1100;
      for (size_t off = 0; off < o.size(); off += max) {
        const size_t n = std::min(max, o.size() - off);
        const bool z = off > 0, y = off + n < o.size();
        Bytes pl{static_cast<uint8_t>((z ? 0x80 : 0) | (y ? 0x40 : 0) | (1 << 4) | (first && seq_header ? 0x08 : 0))};
        first = false;
        pl.insert(pl.end(), o.begin() + static_cast<long>(off), o.begin() + static_cast<long>(off + n));
        const bool marker = k + 1 == tus[i].size() && !y;
        s.packets.push_back(rtp_packet(seq++, ts, 0xA1A1A1A1, 45, marker, pl.data(), pl.size()));
        s.at_ms.push_back(at);
      }
    }
  }
  s.ok = !s.frames.empty();
  return s;
}

// One video track (and optionally Opus audio) recorded through the Recorder;
// returns the room's folder. Packets arrive at kRoomT0 + at_ms.
struct FeedTrack {
  TrackInfo info;
  std::vector<Bytes> packets;
  std::vector<uint64_t> at_ms;
};

inline BuiltRoom record_feeds(const std::string& root, const std::string& peer, std::vector<FeedTrack> tracks,
                              uint64_t max_chunk_bytes = 64 * 1024) {
  RecorderConfig cfg;
  cfg.max_chunk_bytes = max_chunk_bytes;
  BuiltRoom room;
  room.root = root;
  auto rec = Recorder::create(cfg).value();
  UploadQueue q(rec->store(), std::make_shared<LocalDirectorySink>(root));
  q.start();
  auto s = rec->open("app", "room", peer, 1, "", "", kRoomT0).value();
  for (size_t i = 0; i < tracks.size(); ++i) s->track_started(static_cast<uint32_t>(i + 1), tracks[i].info, kRoomT0);
  std::vector<size_t> next(tracks.size(), 0);
  uint64_t last = kRoomT0;
  for (;;) {
    size_t best = tracks.size();
    for (size_t i = 0; i < tracks.size(); ++i)
      if (next[i] < tracks[i].packets.size() &&
          (best == tracks.size() || tracks[i].at_ms[next[i]] < tracks[best].at_ms[next[best]]))
        best = i;
    if (best == tracks.size()) break;
    auto& t = tracks[best];
    last = kRoomT0 + t.at_ms[next[best]];
    s->rtp(static_cast<uint32_t>(best + 1), t.packets[next[best]].data(), t.packets[next[best]].size(), last);
    next[best]++;
  }
  s->leave(last + 70);
  room.room_path = s->room_path();
  rec->store().wait_drained(30000);
  q.stop();
  return room;
}

inline FeedTrack h264_feed(const std::vector<Bytes>& packets, uint8_t cvo_id = 0) {
  FeedTrack t;
  t.info.kind = TrackKind::video;
  t.info.name = "video_main";
  t.info.codec = "H264";
  t.info.clock_rate = 90000;
  t.info.fmtp = "packetization-mode=1";
  t.info.cvo_extension_id = cvo_id;
  const uint32_t ts0 = rtp_ts(packets.front());
  for (auto& p : packets) {
    t.packets.push_back(p);
    t.at_ms.push_back((rtp_ts(p) - ts0) / 90);
  }
  return t;
}

inline FeedTrack opus_feed(double seconds, double hz) {
  FeedTrack t;
  t.info.kind = TrackKind::audio;
  t.info.name = "audio_main";
  t.info.codec = "opus";
  t.info.clock_rate = 48000;
  t.info.channels = 2;
  auto enc = encode_opus(seconds, hz);
  for (size_t i = 0; i < enc.size(); ++i) {
    t.packets.push_back(rtp_packet(static_cast<uint16_t>(100 + i), static_cast<uint32_t>(9000 + i * 960), 0x0B0B0B0B,
                                   111, false, enc[i].data(), enc[i].size()));
    t.at_ms.push_back(i * 20);
  }
  return t;
}

// Top-level MP4 boxes in file order ("ftyp", "moov", "mdat", "moof", ...).
inline std::vector<std::string> mp4_boxes(const std::string& path) {
  std::vector<std::string> boxes;
  std::ifstream in(path, std::ios::binary);
  for (;;) {
    unsigned char h[16];
    if (!in.read(reinterpret_cast<char*>(h), 8)) break;
    uint64_t size = (uint64_t{h[0]} << 24) | (uint64_t{h[1]} << 16) | (uint64_t{h[2]} << 8) | h[3];
    boxes.emplace_back(reinterpret_cast<char*>(h + 4), 4);
    uint64_t header = 8;
    if (size == 1) {
      if (!in.read(reinterpret_cast<char*>(h + 8), 8)) break;
      size = 0;
      for (int i = 8; i < 16; ++i) size = (size << 8) | h[i];
      header = 16;
    }
    if (size == 0) break;  // to the end of the file
    if (size < header) break;
    in.seekg(static_cast<std::streamoff>(size - header), std::ios::cur);
  }
  return boxes;
}

}  // namespace roomrec::testing
