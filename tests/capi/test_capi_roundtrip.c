#define _POSIX_C_SOURCE 200809L
/* The C ABI end to end, in plain C11: record a two-peer room of real VP8 and
 * Opus RTP into a local folder through roomrec_recorder / roomrec_session,
 * then transmux and compose it with roomrec_convert and check the files with
 * ffprobe; plus the error paths (bad JSON, bad URIs, dropped packets).
 *
 *   test_capi_roundtrip WORK_DIR
 */
#include <roomrec_convert.h> /* includes roomrec.h */

#include <dirent.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synth.h"

static const uint64_t T0 = 1731132577000ull;

typedef struct feed {
  roomrec_session* s;
  uint64_t start;
  int bad;  /* packets not recorded */
} feed;

static int feed_packet(uint32_t track_id, uint32_t offset_ms, const uint8_t* packet, size_t n, void* user) {
  feed* f = (feed*)user;
  int rc = roomrec_session_rtp(f->s, track_id, packet, n, f->start + offset_ms);
  if (rc != ROOMREC_OK) ++f->bad;
  if (offset_ms % 1000 == 0) roomrec_session_tick(f->s, f->start + offset_ms);
  return 0;
}

static int keyframe_requests = 0;
static roomrec_session* keyframe_session = NULL;
static void on_keyframe(roomrec_session* s, uint32_t track_id, void* user) {
  (void)user;
  if (track_id == SYNTH_VIDEO_TRACK) ++keyframe_requests;
  keyframe_session = s;
}

static int uploaded_chunks = 0;
static void on_uploaded(const char* key, uint64_t bytes, void* user) {
  (void)user;
  if (key && bytes > 0) __atomic_add_fetch(&uploaded_chunks, 1, __ATOMIC_SEQ_CST);
}

static int run(const char* cmd) {
  int st = system(cmd);
  if (st != 0) fprintf(stderr, "command failed (%d): %s\n", st, cmd);
  return st;
}

/* ffprobe can read it, and ffmpeg decodes it without an error. */
static int media_ok(const char* path) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '%s' >/dev/null", path);
  if (run(cmd) != 0) return 0;
  snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -xerror -i '%s' -f null - ", path);
  return run(cmd) == 0;
}

/* The codec names of a file's streams, comma separated, into out. */
static void stream_codecs(const char* path, char* out, size_t cap) {
  char cmd[4096];
  out[0] = '\0';
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '%s'", path);
  FILE* p = popen(cmd, "r");
  if (!p) return;
  size_t len = 0;
  char line[256];
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\r\n")] = '\0';
    size_t l = strlen(line);
    if (len + l + 2 >= cap) break;
    if (len) out[len++] = ',';
    memcpy(out + len, line, l + 1);
    len += l;
  }
  pclose(p);
}

static int record_room(const char* out_dir, char* room_path, size_t cap) {
  char config[2048];
  snprintf(config, sizeof config,
           "{\"max_chunk_bytes\": 65536, \"store\": {\"memory_budget_bytes\": 33554432},"
           " \"upload\": {\"uri\": \"file://%s\", \"workers\": 2}}",
           out_dir);
  roomrec_recorder* rec = NULL;
  REQUIRE(roomrec_recorder_new(config, &rec) == ROOMREC_OK);
  CHECK(roomrec_recorder_set_keyframe_callback(rec, on_keyframe, NULL) == ROOMREC_OK);
  CHECK(roomrec_recorder_set_uploaded_callback(rec, on_uploaded, NULL) == ROOMREC_OK);
  REQUIRE(roomrec_recorder_start(rec) == ROOMREC_OK);
  /* Callbacks are fixed once started. */
  CHECK(roomrec_recorder_set_keyframe_callback(rec, on_keyframe, NULL) == ROOMREC_ERR_INVALID_ARGUMENT);

  const char* peers[2] = {"alice", "bob"};
  const double tones[2] = {440, 660};
  roomrec_session* sessions[2] = {NULL, NULL};
  for (int i = 0; i < 2; ++i) {
    char params[512];
    uint64_t start = T0 + (uint64_t)i * 1000;
    snprintf(params, sizeof params,
             "{\"app\": \"capi\", \"room\": \"c-room\", \"peer\": \"%s\", \"session_id\": %d,"
             " \"ip\": \"127.0.0.1\", \"user_agent\": \"test_capi\"}",
             peers[i], 100 + i);
    REQUIRE(roomrec_session_open(rec, params, start, &sessions[i]) == ROOMREC_OK);
    CHECK(roomrec_session_track_started(sessions[i], SYNTH_AUDIO_TRACK,
                                        "{\"kind\": \"audio\", \"codec\": \"opus\", \"clock_rate\": 48000,"
                                        " \"channels\": 2, \"fmtp\": \"useinbandfec=1\", \"ssrc\": 1111}",
                                        start) == ROOMREC_OK);
    int before = keyframe_requests;
    CHECK(roomrec_session_track_started(sessions[i], SYNTH_VIDEO_TRACK,
                                        "{\"kind\": \"video\", \"codec\": \"vp8\", \"ssrc\": 2222}",
                                        start) == ROOMREC_OK);
    CHECK(keyframe_requests == before + 1);
    CHECK(keyframe_session == sessions[i]);
    /* A duplicate track id is refused with a message. */
    CHECK(roomrec_session_track_started(sessions[i], SYNTH_VIDEO_TRACK, "{\"kind\": \"video\", \"codec\": \"vp8\"}",
                                        start) == ROOMREC_RECORD_INVALID);
    CHECK(roomrec_last_error()[0] != '\0');

    feed f = {sessions[i], start, 0};
    synth_params sp = {4 - (uint32_t)i, 320, 240, 15, tones[i], (uint8_t)(40 + 80 * i), 1111, 2222};
    CHECK(synth_generate(&sp, feed_packet, &f) == 0);
    CHECK(f.bad == 0);

    /* Dropped, counted, not fatal. */
    const uint8_t junk[3] = {1, 2, 3};
    CHECK(roomrec_session_rtp(sessions[i], SYNTH_AUDIO_TRACK, junk, sizeof junk, start + 4000) ==
          ROOMREC_RECORD_MALFORMED);
    uint8_t stray[20] = {0x80, 96, 0, 9, 0, 0, 0, 1, 0, 0, 0, 5};
    CHECK(roomrec_session_rtp(sessions[i], 77, stray, sizeof stray, start + 4000) == ROOMREC_RECORD_UNKNOWN_TRACK);
    /* A receiver report (RC = 0) is kept; a truncated one is dropped. */
    const uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0x04, 0x57};
    CHECK(roomrec_session_rtcp(sessions[i], rr, sizeof rr, start + 4000) == ROOMREC_OK);
    CHECK(roomrec_session_rtcp(sessions[i], rr, 5, start + 4000) == ROOMREC_RECORD_MALFORMED);
    const char* msg = "hello from C";
    CHECK(roomrec_session_data(sessions[i], "chat", 0, (const uint8_t*)msg, strlen(msg), start + 4000) ==
          ROOMREC_OK);
  }
  for (int i = 0; i < 2; ++i) {
    char* stats = NULL;
    CHECK(roomrec_session_stats(sessions[i], &stats) == ROOMREC_OK);
    CHECK(stats && strstr(stats, "\"rtp_malformed\":1") != NULL);
    CHECK(stats && strstr(stats, "\"data_messages\":1") != NULL);
    CHECK(stats && strstr(stats, "\"rtcp_accepted\":1") != NULL);
    CHECK(stats && strstr(stats, "\"rtcp_malformed\":1") != NULL);
    roomrec_free_string(stats);
    CHECK(roomrec_session_track_stopped(sessions[i], SYNTH_VIDEO_TRACK, T0 + 5000) == ROOMREC_OK);
    CHECK(roomrec_session_leave(sessions[i], T0 + 5000) == ROOMREC_OK);
    CHECK(roomrec_session_leave(sessions[i], T0 + 5001) == ROOMREC_RECORD_CLOSED);
  }
  char* path = NULL;
  REQUIRE(roomrec_session_room_path(sessions[0], &path) == ROOMREC_OK);
  snprintf(room_path, cap, "%s", path);
  roomrec_free_string(path);
  for (int i = 0; i < 2; ++i) roomrec_session_free(sessions[i]);

  REQUIRE(roomrec_recorder_flush(rec, 60000) == ROOMREC_OK);
  char* stats = NULL;
  CHECK(roomrec_recorder_stats(rec, &stats) == ROOMREC_OK);
  CHECK(stats && strstr(stats, "\"chunks_refused\":0") != NULL);
  CHECK(stats && strstr(stats, "\"failures\":0") != NULL);
  printf("recorder stats: %s\n", stats ? stats : "(none)");
  roomrec_free_string(stats);
  size_t unsent = 99;
  CHECK(roomrec_recorder_shutdown(rec, 1000, &unsent) == ROOMREC_OK);
  CHECK(unsent == 0);
  CHECK(uploaded_chunks > 4); /* 64 KiB chunks: several per session */
  /* Shut down: no new sessions. */
  roomrec_session* late = NULL;
  CHECK(roomrec_session_open(rec, "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"p\"}", T0, &late) ==
        ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(late == NULL);
  roomrec_recorder_free(rec);
  return 0;
}

static void check_errors(const char* work) {
  roomrec_recorder* rec = (roomrec_recorder*)1;
  CHECK(roomrec_recorder_new("{not json", &rec) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(rec == NULL);
  CHECK(strstr(roomrec_last_error(), "JSON") != NULL);
  CHECK(roomrec_recorder_new("{\"max_chunk_byte\": 1}", &rec) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(strstr(roomrec_last_error(), "max_chunk_byte") != NULL);
  CHECK(roomrec_recorder_new("{\"upload\": {\"uri\": \"http://nocreds@host/bucket\"}}", &rec) ==
        ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_recorder_new("{\"upload\": {\"uri\": \"/tmp/x\", \"callback\": true}}", &rec) ==
        ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_recorder_new(NULL, &rec) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_recorder_new("{}", NULL) == ROOMREC_ERR_INVALID_ARGUMENT);
  /* A callback sink needs its callback before start. */
  CHECK(roomrec_recorder_new("{\"upload\": {\"callback\": true}}", &rec) == ROOMREC_OK);
  CHECK(roomrec_recorder_start(rec) == ROOMREC_ERR_INVALID_ARGUMENT);
  roomrec_session* s = NULL;
  CHECK(roomrec_session_open(rec, "{\"app\": \"a\", \"room\": \"r\"}", T0, &s) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(strstr(roomrec_last_error(), "peer") != NULL);
  CHECK(roomrec_session_open(rec,
                             "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"p\", \"srtp\": {\"profile\": "
                             "\"AES_CM_128_HMAC_SHA1_80\", \"key_hex\": \"0011\"}}",
                             T0, &s) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_session_open(rec,
                             "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"p\", \"srtp\": {\"profile\": "
                             "\"NO_SUCH_SUITE\", \"key_hex\": \"0011\"}}",
                             T0, &s) == ROOMREC_ERR_UNSUPPORTED);
  /* A good SRTP key (30 bytes) opens. */
  CHECK(roomrec_session_open(rec,
                             "{\"app\": \"a\", \"room\": \"r\", \"peer\": \"p\", \"srtp\": {\"profile\": "
                             "\"AES_CM_128_HMAC_SHA1_80\", \"key_hex\": "
                             "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d\"}}",
                             T0, &s) == ROOMREC_OK);
  CHECK(roomrec_session_track_started(s, 1, "{\"kind\": \"audio\", \"codec\": \"opus\"}", T0) == ROOMREC_OK);
  uint8_t plain[40] = {0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9};
  CHECK(roomrec_session_rtp(s, 1, plain, sizeof plain, T0 + 1) == ROOMREC_RECORD_DECRYPT_FAILED);
  roomrec_session_free(s);
  roomrec_recorder_free(rec);

  CHECK(roomrec_session_rtp(NULL, 1, plain, sizeof plain, T0) == ROOMREC_ERR_INVALID_ARGUMENT);
  roomrec_session_free(NULL);
  roomrec_recorder_free(NULL);
  roomrec_convert_job_free(NULL);
  roomrec_hook_sender_free(NULL);

  char* result = (char*)1;
  CHECK(roomrec_convert("{\"input\": \"/nonexistent\"}", &result) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(result == NULL);
  char job[1024];
  snprintf(job, sizeof job, "{\"input\": \"%s/no-such-room\", \"transmux\": {\"output\": \"%s/t-none\"}}", work,
           work);
  int rc = roomrec_convert(job, &result);
  CHECK(rc < 0);
  CHECK(roomrec_last_error()[0] != '\0');
  CHECK(roomrec_convert("{\"input\": \"http://x@\", \"transmux\": {\"output\": \"/tmp/x\"}}", &result) ==
        ROOMREC_ERR_INVALID_ARGUMENT);

  char* url = NULL;
  CHECK(roomrec_s3_presign("PUT", "http://AK:SK@127.0.0.1:9000/bucket/pre?path_style=true", "a/b.rec", 600,
                           1700000000, &url) == ROOMREC_OK);
  CHECK(url && strstr(url, "http://127.0.0.1:9000/bucket/pre/a/b.rec?") == url);
  CHECK(url && strstr(url, "X-Amz-Signature=") != NULL);
  CHECK(url && strstr(url, "X-Amz-Date=20231114T221320Z") != NULL);
  roomrec_free_string(url);
  CHECK(roomrec_s3_presign("PUT", "ftp://nope", "k", 600, 0, &url) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(url == NULL);
  CHECK(roomrec_s3_presign("PUT", "http://AK:SK@h/b", "k", 0, 0, &url) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_s3_presign("POST", "http://AK:SK@h/b", "k", 60, 0, &url) == ROOMREC_ERR_INVALID_ARGUMENT);

  roomrec_hook_sender* h = NULL;
  CHECK(roomrec_hook_sender_new("{\"url\": \"ftp://x\"}", &h) == ROOMREC_ERR_INVALID_ARGUMENT);
  CHECK(roomrec_hook_sender_new("{\"url\": \"http://127.0.0.1:9/h\", \"body_type\": \"xml\"}", &h) ==
        ROOMREC_ERR_INVALID_ARGUMENT);

  CHECK(strcmp(roomrec_strerror(ROOMREC_ERR_TIMEOUT), "timeout") == 0);
  CHECK(strcmp(roomrec_strerror(ROOMREC_RECORD_MALFORMED), "malformed") == 0);
  CHECK(strcmp(roomrec_strerror(12345), "unknown") == 0);
}

static int count_files_with(const char* dir, const char* suffix, char paths[][1024], int cap) {
  DIR* d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent* e;
  size_t sl = strlen(suffix);
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) {
      if (n < cap) snprintf(paths[n], 1024, "%s/%s", dir, e->d_name);
      ++n;
    }
  }
  closedir(d);
  return n;
}

static int progress_calls = 0;
static double last_fraction = -1;
static void on_progress(const char* phase, uint64_t done_ms, uint64_t total_ms, double fraction, void* user) {
  (void)user;
  (void)done_ms;
  (void)total_ms;
  if (phase && (strcmp(phase, "transmux") == 0 || strcmp(phase, "compose") == 0)) ++progress_calls;
  last_fraction = fraction;
}

static roomrec_convert_job* job_to_cancel = NULL;
static int cancel_calls = 0;
static void cancel_on_progress(const char* phase, uint64_t done_ms, uint64_t total_ms, double fraction, void* user) {
  (void)phase;
  (void)fraction;
  (void)user;
  if (done_ms >= total_ms) return; /* the final report: too late to cancel */
  roomrec_convert_job* j;
  while ((j = __atomic_load_n(&job_to_cancel, __ATOMIC_SEQ_CST)) == NULL) sched_yield();
  if (cancel_calls++ == 0) roomrec_convert_job_cancel(j);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s WORK_DIR\n", argv[0]);
    return 2;
  }
  const char* work = argv[1];
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", work, work);
  if (run(cmd) != 0) return 1;

  CHECK(roomrec_abi_version() == ROOMREC_ABI_VERSION);
  CHECK(strlen(roomrec_version()) >= 5);

  check_errors(work);

  char out_dir[1024], room_path[1024], input[2200];
  snprintf(out_dir, sizeof out_dir, "%s/recordings", work);
  if (record_room(out_dir, room_path, sizeof room_path) != 0) return 1;
  printf("room path: %s\n", room_path);
  CHECK(strncmp(room_path, "capi/c-room/", 12) == 0);
  snprintf(input, sizeof input, "%s/%s", out_dir, room_path);

  /* Blocking conversion: transmux + compose. */
  char job[8192];
  snprintf(job, sizeof job,
           "{\"input\": \"%s\", \"transmux\": {\"output\": \"%s/transmux\"},"
           " \"compose\": {\"output\": \"%s/room.webm\", \"width\": 320, \"height\": 240, \"fps\": 10}}",
           input, work, work);
  char* result = NULL;
  int rc = roomrec_convert(job, &result);
  REQUIRE(rc == ROOMREC_OK);
  printf("convert result: %.300s...\n", result);
  CHECK(strstr(result, "\"room\": \"c-room\"") != NULL);
  CHECK(strstr(result, "\"codec\": \"vp8\"") != NULL);
  CHECK(strstr(result, "\"codec\": \"opus\"") != NULL);
  CHECK(strstr(result, "\"media_uri\"") != NULL);
  roomrec_free_string(result);

  char transmux_dir[1100];
  snprintf(transmux_dir, sizeof transmux_dir, "%s/transmux", work);
  char files[16][1024];
  int n = count_files_with(transmux_dir, ".webm", files, 16);
  CHECK(n == 4); /* 2 peers x (audio, video) */
  int vp8 = 0, opus = 0;
  for (int i = 0; i < n && i < 16; ++i) {
    CHECK(media_ok(files[i]));
    char codecs[256];
    stream_codecs(files[i], codecs, sizeof codecs);
    vp8 += strcmp(codecs, "vp8") == 0;
    opus += strcmp(codecs, "opus") == 0;
  }
  CHECK(vp8 == 2);
  CHECK(opus == 2);
  CHECK(count_files_with(transmux_dir, "summary.json", files, 16) == 1);

  char composed[1100];
  snprintf(composed, sizeof composed, "%s/room.webm", work);
  CHECK(media_ok(composed));
  char codecs[256];
  stream_codecs(composed, codecs, sizeof codecs);
  CHECK(strstr(codecs, "vp8") != NULL && strstr(codecs, "opus") != NULL);

  /* Asynchronous job with progress. */
  snprintf(job, sizeof job, "{\"input\": \"%s\", \"transmux\": {\"output\": \"%s/transmux2\"}}", input, work);
  roomrec_convert_job* cj = NULL;
  REQUIRE(roomrec_convert_job_start(job, on_progress, NULL, &cj) == ROOMREC_OK);
  CHECK(roomrec_convert_job_wait(cj, -1) == 1);
  rc = roomrec_convert_job_result(cj, &result);
  CHECK(rc == ROOMREC_OK);
  CHECK(result && strstr(result, "\"transmux\"") != NULL);
  roomrec_free_string(result);
  roomrec_convert_job_free(cj);
  CHECK(progress_calls > 0);
  CHECK(last_fraction > 0.99 && last_fraction <= 1.0);

  /* A job cancelled from its first progress report (before the end of the
   * room) ends with ROOMREC_ERR_CANCELLED. */
  snprintf(job, sizeof job,
           "{\"input\": \"%s\", \"compose\": {\"output\": \"%s/cancelled.webm\", \"width\": 320, \"height\": 240}}",
           input, work);
  REQUIRE(roomrec_convert_job_start(job, cancel_on_progress, NULL, &cj) == ROOMREC_OK);
  __atomic_store_n(&job_to_cancel, cj, __ATOMIC_SEQ_CST);
  rc = roomrec_convert_job_result(cj, &result);
  CHECK(rc == ROOMREC_ERR_CANCELLED);
  CHECK(result == NULL);
  CHECK(cancel_calls == 1);
  CHECK(strstr(roomrec_last_error(), "cancel") != NULL);
  roomrec_convert_job_free(cj);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all C ABI checks passed\n");
  return 0;
}
