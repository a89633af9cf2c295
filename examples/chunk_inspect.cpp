// chunk_inspect: prints what a chunk file holds, row by row, and whether it
// is intact. Usage: chunk_inspect [--rows] FILE.rec...
#include <roomrec/chunk_reader.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

using namespace roomrec;

// "vp8/90000 cvo=13 ext=4:urn:...,13:urn:3gpp:video-orientation"
std::string track_text(const TrackInfo& t) {
  std::string out = t.codec + "/" + std::to_string(t.clock_rate);
  if (!t.fmtp.empty()) out += " fmtp=" + t.fmtp;
  if (t.cvo_extension_id) out += " cvo=" + std::to_string(t.cvo_extension_id);
  for (size_t i = 0; i < t.extensions.size(); ++i)
    out += (i ? "," : " ext=") + std::to_string(t.extensions[i].id) + ":" + t.extensions[i].uri;
  return out;
}

int main(int argc, char** argv) {
  bool show_rows = false;
  int bad = 0, files = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0) {
      show_rows = true;
      continue;
    }
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::puts("usage: chunk_inspect [--rows] FILE.rec...");
      return 0;
    }
    ++files;
    auto src = file_source(argv[i]);
    if (!src) {
      std::fprintf(stderr, "%s\n", src.status().to_string().c_str());
      ++bad;
      continue;
    }
    ChunkReader reader(std::move(src.value()));
    std::printf("%s\n", argv[i]);
    if (const ChunkHeader* h = reader.read_header()) {
      std::printf("  app=%s room=%s record=%s peer=%s session=%llu index=%u first_ts=%llu ip=%s\n", h->app.c_str(),
                  h->room.c_str(), h->room_record_id.c_str(), h->peer.c_str(),
                  static_cast<unsigned long long>(h->session), h->index,
                  static_cast<unsigned long long>(h->first_ts), h->ip.c_str());
      for (const auto& t : h->tracks)
        std::printf("  open track %u: %s %s\n", t.track_id, t.info.name.c_str(), track_text(t.info).c_str());
    } else {
      std::printf("  (no intact header)\n");
    }
    std::map<std::string, uint64_t> counts;
    Row row;
    while (reader.next(row)) {
      counts[row_kind_name(row.kind)]++;
      if (show_rows)
        std::printf("  %llu %-13s track=%u bytes=%zu%s%s\n", static_cast<unsigned long long>(row.ts),
                    row_kind_name(row.kind), row.track_id, row.payload.size(),
                    row.kind == RowKind::track_started ? (" " + track_text(row.track)).c_str() : "",
                    row.kind == RowKind::data ? (" label=" + row.label).c_str() : "");
    }
    for (auto& [k, n] : counts) std::printf("  %-13s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    const auto& st = reader.stats();
    std::printf("  rows=%llu trailer=%s bad_regions=%llu skipped_bytes=%llu %s\n",
                static_cast<unsigned long long>(st.good_rows), st.trailer_seen ? "yes" : "no",
                static_cast<unsigned long long>(st.bad_regions), static_cast<unsigned long long>(st.skipped_bytes),
                st.complete() ? "intact" : "DAMAGED");
    if (!st.complete()) ++bad;
  }
  if (files == 0) {
    std::fputs("usage: chunk_inspect [--rows] FILE.rec...\n", stderr);
    return 2;
  }
  return bad ? 1 : 0;
}
