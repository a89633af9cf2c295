/* A host that only records: C11 against roomrec.h and libroomrec alone (no
 * codec library may be linked into it; tests/abi/check_links.py checks the
 * built program). It records a session with a video track into a local folder
 * and checks that the keyframe callback gets the session handle whose user
 * data leads back to the host's own per-session state (no thread-local lookup). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct host_session {
  const char* name;
  int keyframe_requests;
  uint32_t last_track;
};

static void* recorder_user_seen = NULL;

static void on_keyframe(roomrec_session* s, uint32_t track_id, void* user) {
  recorder_user_seen = user;
  struct host_session* hs = (struct host_session*)roomrec_session_user_data(s);
  if (!hs) return;
  hs->keyframe_requests++;
  hs->last_track = track_id;
}

static size_t count_files(const char* dir) {
  size_t n = 0;
  DIR* d = opendir(dir);
  if (!d) return 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      n += count_files(path);
    else if (strstr(e->d_name, ".rec"))
      n++;
  }
  closedir(d);
  return n;
}

static void rtp_packet(uint8_t* p, uint16_t seq, uint32_t ts, uint32_t ssrc, int keyframe) {
  memset(p, 0, 32);
  p[0] = 0x80;
  p[1] = (uint8_t)(0x80 | 96);
  p[2] = (uint8_t)(seq >> 8);
  p[3] = (uint8_t)seq;
  p[4] = (uint8_t)(ts >> 24);
  p[5] = (uint8_t)(ts >> 16);
  p[6] = (uint8_t)(ts >> 8);
  p[7] = (uint8_t)ts;
  p[8] = (uint8_t)(ssrc >> 24);
  p[9] = (uint8_t)(ssrc >> 16);
  p[10] = (uint8_t)(ssrc >> 8);
  p[11] = (uint8_t)ssrc;
  p[12] = 0x10;                         /* VP8 descriptor: start of partition */
  p[13] = keyframe ? 0x00 : 0x01;       /* VP8 payload header: P bit */
}

int main(int argc, char** argv) {
  REQUIRE(argc == 2);
  const char* work = argv[1];
  mkdir(work, 0755);
  char out_dir[4096], spill_dir[4096], config[9000];
  snprintf(out_dir, sizeof out_dir, "%s/out", work);
  snprintf(spill_dir, sizeof spill_dir, "%s/spill", work);
  snprintf(config, sizeof config,
           "{\"max_chunk_bytes\": 4096, \"store\": {\"spill_dir\": \"%s\"}, \"upload\": {\"uri\": \"%s\"}}", spill_dir,
           out_dir);

  int recorder_tag = 7;
  roomrec_recorder* rec = NULL;
  REQUIRE(roomrec_recorder_new(config, &rec) == ROOMREC_OK);
  CHECK(roomrec_recorder_set_keyframe_callback(rec, on_keyframe, &recorder_tag) == ROOMREC_OK);
  REQUIRE(roomrec_recorder_start(rec) == ROOMREC_OK);

  struct host_session alice = {"alice", 0, 0}, bob = {"bob", 0, 0};
  roomrec_session *sa = NULL, *sb = NULL;
  const uint64_t t0 = 1700000000000ULL;
  REQUIRE(roomrec_session_open(rec, "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"alice\", \"session_id\": 1}", t0,
                               &sa) == ROOMREC_OK);
  REQUIRE(roomrec_session_open(rec, "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"bob\", \"session_id\": 2}", t0,
                               &sb) == ROOMREC_OK);
  CHECK(roomrec_session_user_data(sa) == NULL);
  CHECK(roomrec_session_set_user_data(sa, &alice) == ROOMREC_OK);
  CHECK(roomrec_session_set_user_data(sb, &bob) == ROOMREC_OK);
  CHECK(roomrec_session_user_data(sb) == &bob);
  CHECK(roomrec_session_set_user_data(NULL, &bob) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_session_user_data(NULL) == NULL);

  const char* video = "{\"kind\": \"video\", \"codec\": \"vp8\", \"ssrc\": 1234}";
  CHECK(roomrec_session_track_started(sb, 3, video, t0) == ROOMREC_OK);
  CHECK(bob.keyframe_requests == 1 && bob.last_track == 3);
  CHECK(alice.keyframe_requests == 0);
  CHECK(recorder_user_seen == &recorder_tag);
  CHECK(roomrec_session_track_started(sa, 5, video, t0) == ROOMREC_OK);
  CHECK(alice.keyframe_requests == 1 && alice.last_track == 5);

  uint8_t pkt[300];
  for (int i = 0; i < 200; i++) {
    rtp_packet(pkt, (uint16_t)i, (uint32_t)(i * 3000), 1234, i == 0);
    CHECK(roomrec_session_rtp(sa, 5, pkt, sizeof pkt, t0 + (uint64_t)i * 33) == ROOMREC_OK);
    CHECK(roomrec_session_rtp(sb, 3, pkt, sizeof pkt, t0 + (uint64_t)i * 33) == ROOMREC_OK);
  }

  /* Pause and resume: alice's whole session, then bob's track alone. */
  const uint64_t tp = t0 + 6700;
  CHECK(roomrec_session_pause(sa, tp) == ROOMREC_OK);
  CHECK(roomrec_session_pause(sa, tp) == ROOMREC_RECORD_INVALID);
  CHECK(strstr(roomrec_last_error(), "already paused") != NULL);
  CHECK(roomrec_session_pause_track(sb, 3, tp) == ROOMREC_OK);
  CHECK(roomrec_session_pause_track(sb, 0, tp) == ROOMREC_RECORD_INVALID);
  CHECK(strstr(roomrec_last_error(), "whole session") != NULL);
  CHECK(roomrec_session_pause_track(sb, 9, tp) == ROOMREC_RECORD_UNKNOWN_TRACK);
  CHECK(strcmp(roomrec_strerror(ROOMREC_RECORD_PAUSED), "paused") == 0);
  for (int i = 200; i < 210; i++) {
    rtp_packet(pkt, (uint16_t)i, (uint32_t)(i * 3000), 1234, 0);
    CHECK(roomrec_session_rtp(sa, 5, pkt, sizeof pkt, tp + 10) == ROOMREC_RECORD_PAUSED);
    CHECK(roomrec_session_rtp(sb, 3, pkt, sizeof pkt, tp + 10) == ROOMREC_RECORD_PAUSED);
  }
  CHECK(roomrec_session_data(sa, "chat", 0, (const uint8_t*)"hi", 2, tp + 11) == ROOMREC_RECORD_PAUSED);
  CHECK(roomrec_session_data(sb, "chat", 0, (const uint8_t*)"hi", 2, tp + 11) == ROOMREC_OK);
  char* stats = NULL;
  REQUIRE(roomrec_session_stats(sa, &stats) == ROOMREC_OK);
  CHECK(strstr(stats, "\"rtp_paused\":10") != NULL);
  CHECK(strstr(stats, "\"data_paused\":1") != NULL);
  CHECK(strstr(stats, "\"paused\":true") != NULL);
  roomrec_free_string(stats);
  REQUIRE(roomrec_session_stats(sb, &stats) == ROOMREC_OK);
  CHECK(strstr(stats, "\"paused_tracks\":[3]") != NULL);
  CHECK(strstr(stats, "\"paused\":false") != NULL);
  roomrec_free_string(stats);
  int alice_requests = alice.keyframe_requests;
  CHECK(roomrec_session_resume(sa, tp + 20) == ROOMREC_OK);
  CHECK(roomrec_session_resume(sa, tp + 20) == ROOMREC_RECORD_INVALID);
  CHECK(strstr(roomrec_last_error(), "not paused") != NULL);
  CHECK(alice.keyframe_requests == alice_requests + 1); /* the resumed video asks for a key frame */
  CHECK(roomrec_session_resume_track(sb, 3, tp + 20) == ROOMREC_OK);
  rtp_packet(pkt, 210, 210 * 3000, 1234, 1);
  CHECK(roomrec_session_rtp(sa, 5, pkt, sizeof pkt, tp + 30) == ROOMREC_OK);
  CHECK(roomrec_session_rtp(sb, 3, pkt, sizeof pkt, tp + 30) == ROOMREC_OK);
  CHECK(roomrec_session_leave(sa, t0 + 7000) == ROOMREC_OK);
  CHECK(roomrec_session_leave(sb, t0 + 7000) == ROOMREC_OK);
  size_t unsent = 99;
  CHECK(roomrec_recorder_shutdown(rec, 10000, &unsent) == ROOMREC_OK);
  CHECK(unsent == 0);
  roomrec_session_free(sa);
  roomrec_session_free(sb);
  roomrec_recorder_free(rec);

  size_t files = count_files(out_dir);
  printf("record-only host: %zu chunks in %s, keyframe requests alice %d bob %d\n", files, out_dir,
         alice.keyframe_requests, bob.keyframe_requests);
  CHECK(files >= 4);
  return failures ? 1 : 0;
}
