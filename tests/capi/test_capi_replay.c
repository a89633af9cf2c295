#define _POSIX_C_SOURCE 200809L
/* The replayer through the C ABI, in plain C11: record one peer of real VP8 and Opus RTP into a local
 * folder, then replay it: pulled items (mapped SSRC, continuous sequence numbers, sender reports, the
 * data message), the SDP, the paced callback loop stopped by its callback, and the error paths.
 *
 *   test_capi_replay WORK_DIR
 */
#include <roomrec_convert.h> /* includes roomrec.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synth.h"

static const uint64_t T0 = 1731132577000ull;

typedef struct feed {
  roomrec_session* s;
  int bad;
  int packets;
} feed;

static int feed_packet(uint32_t track_id, uint32_t offset_ms, const uint8_t* packet, size_t n, void* user) {
  feed* f = (feed*)user;
  if (offset_ms == 1000 && track_id == SYNTH_AUDIO_TRACK)
    roomrec_session_data(f->s, "chat", 0, (const uint8_t*)"hi", 2, T0 + offset_ms);
  if (roomrec_session_rtp(f->s, track_id, packet, n, T0 + offset_ms) != ROOMREC_OK) ++f->bad;
  ++f->packets;
  return 0;
}

static int calls = 0;
static int stop_after_three(const roomrec_replay_item* item, void* user) {
  (void)user;
  if (!item || item->size == 0 || item->struct_size != sizeof *item) return 1;
  return ++calls >= 3;
}

int main(int argc, char** argv) {
  REQUIRE(argc == 2);
  char cfg[1024], room_path[512] = "", input[1024];
  snprintf(cfg, sizeof cfg, "rm -rf '%s/rec'", argv[1]);  /* a fresh recording on every run */
  REQUIRE(system(cfg) == 0);
  snprintf(cfg, sizeof cfg, "{\"upload\": {\"uri\": \"%s/rec\"}, \"max_chunk_bytes\": 32768}", argv[1]);
  roomrec_recorder* rec = NULL;
  REQUIRE(roomrec_recorder_new(cfg, &rec) == ROOMREC_OK);
  REQUIRE(roomrec_recorder_start(rec) == ROOMREC_OK);
  roomrec_session* s = NULL;
  REQUIRE(roomrec_session_open(rec, "{\"app\": \"capi\", \"room\": \"replay\", \"peer\": \"alice\", \"session_id\": 1}",
                               T0, &s) == ROOMREC_OK);
  CHECK(roomrec_session_track_started(s, SYNTH_AUDIO_TRACK, "{\"kind\": \"audio\", \"codec\": \"opus\"}", T0) ==
        ROOMREC_OK);
  CHECK(roomrec_session_track_started(s, SYNTH_VIDEO_TRACK, "{\"kind\": \"video\", \"codec\": \"vp8\"}", T0) ==
        ROOMREC_OK);
  feed f = {s, 0, 0};
  synth_params sp = {3, 320, 240, 15, 440, 60, 1111, 2222};
  REQUIRE(synth_generate(&sp, feed_packet, &f) == 0);
  CHECK(f.bad == 0);
  CHECK(roomrec_session_leave(s, T0 + 3100) == ROOMREC_OK);
  char* path = NULL;
  REQUIRE(roomrec_session_room_path(s, &path) == ROOMREC_OK);
  snprintf(room_path, sizeof room_path, "%s", path);
  roomrec_free_string(path);
  roomrec_session_free(s);
  CHECK(roomrec_recorder_flush(rec, 60000) == ROOMREC_OK);
  roomrec_recorder_free(rec);
  snprintf(input, sizeof input, "%s/rec/%s", argv[1], room_path);

  /* Pull every item. */
  char json[2048];
  snprintf(json, sizeof json,
           "{\"input\": \"%s\", \"peer\": \"alice\", \"speed\": 0,"
           " \"map\": {\"audio_main\": {\"ssrc\": 77, \"first_seq\": 10}}}", input);
  roomrec_replayer* r = NULL;
  REQUIRE(roomrec_replayer_open(json, &r) == ROOMREC_OK);
  char* info = NULL;
  CHECK(roomrec_replayer_info(r, &info) == ROOMREC_OK);
  CHECK(info && strstr(info, "\"ssrc\":77") != NULL && strstr(info, "\"video_main\"") != NULL);
  roomrec_free_string(info);
  char* sdp = NULL;
  CHECK(roomrec_replayer_sdp(r, "127.0.0.1", 5004, &sdp) == ROOMREC_OK);
  CHECK(sdp && strstr(sdp, "m=audio 5004 RTP/AVP 111") && strstr(sdp, "m=video 5006 RTP/AVP 96"));
  roomrec_free_string(sdp);
  CHECK(roomrec_replayer_sdp(r, "127.0.0.1", 65535, &sdp) == ROOMREC_ERR_INVALID_ARGUMENT && sdp == NULL);
  roomrec_replay_item it = ROOMREC_REPLAY_ITEM_INIT;
  int rtp = 0, rtcp = 0, data = 0, rc;
  uint16_t next_seq = 10;
  uint64_t last_media = 0;
  while ((rc = roomrec_replayer_next(r, &it)) == 1) {
    CHECK(it.media_ms >= last_media);
    last_media = it.media_ms;
    if (it.kind == ROOMREC_REPLAY_RTP) {
      ++rtp;
      REQUIRE(it.size >= 12);
      uint32_t ssrc = (uint32_t)it.bytes[8] << 24 | (uint32_t)it.bytes[9] << 16 | (uint32_t)it.bytes[10] << 8 | it.bytes[11];
      if (it.track_id == SYNTH_AUDIO_TRACK) {
        CHECK(ssrc == 77);
        CHECK(((uint16_t)(it.bytes[2] << 8 | it.bytes[3])) == next_seq);
        ++next_seq;
      }
    } else if (it.kind == ROOMREC_REPLAY_RTCP) {
      ++rtcp;
      CHECK(it.size >= 28 && it.bytes[1] == 200);
    } else {
      ++data;
      CHECK(strcmp(it.label, "chat") == 0 && it.size == 2 && memcmp(it.bytes, "hi", 2) == 0 && !it.binary);
      CHECK(it.recorded_ms == T0 + 1000);
    }
  }
  CHECK(rc == 0);
  CHECK(rtp == f.packets);
  CHECK(rtcp >= 4);
  CHECK(data == 1);
  char* stats = NULL;
  CHECK(roomrec_replayer_stats(r, &stats) == ROOMREC_OK);
  CHECK(stats && strstr(stats, "\"data_messages\":1") != NULL);
  roomrec_free_string(stats);
  roomrec_replayer_free(r);

  /* The paced loop, stopped by its callback. */
  snprintf(json, sizeof json, "{\"input\": \"%s\", \"peer\": \"alice\", \"speed\": 0}", input);
  REQUIRE(roomrec_replayer_open(json, &r) == ROOMREC_OK);
  CHECK(roomrec_replayer_run(r, stop_after_three, NULL) == ROOMREC_ERR_CANCELLED);
  CHECK(calls == 3);
  CHECK(roomrec_replayer_run(r, NULL, NULL) == ROOMREC_ERR_INVALID_ARGUMENT);
  roomrec_replayer_free(r);

  /* Errors. */
  r = NULL;
  CHECK(roomrec_replayer_open("{\"peer\": \"alice\"}", &r) == ROOMREC_ERR_INVALID_ARGUMENT && r == NULL);
  CHECK(roomrec_replayer_open("not json", &r) == ROOMREC_ERR_INVALID_ARGUMENT);
  snprintf(json, sizeof json, "{\"input\": \"%s\", \"peer\": \"bob\"}", input);
  CHECK(roomrec_replayer_open(json, &r) == ROOMREC_ERR_NOT_FOUND);
  CHECK(roomrec_last_error()[0] != '\0');
  CHECK(roomrec_replayer_next(NULL, &it) == ROOMREC_ERR_INVALID_ARGUMENT);
  /* An item without its struct_size (a caller that did not initialise it) is refused, nothing written. */
  snprintf(json, sizeof json, "{\"input\": \"%s\", \"peer\": \"alice\"}", input);
  REQUIRE(roomrec_replayer_open(json, &r) == ROOMREC_OK);
  {
    roomrec_replay_item bare;
    memset(&bare, 0, sizeof bare);
    CHECK(roomrec_replayer_next(r, &bare) == ROOMREC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(roomrec_last_error(), "struct_size") != NULL);
    CHECK(bare.kind == 0 && bare.bytes == NULL);
    bare.struct_size = sizeof bare;
    CHECK(roomrec_replayer_next(r, &bare) == 1 && bare.struct_size == sizeof bare && bare.size > 0);
  }
  roomrec_replayer_free(r);
  CHECK(roomrec_replayer_stop(NULL) == ROOMREC_ERR_INVALID_ARGUMENT);
  roomrec_replayer_free(NULL);

  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("test_capi_replay: ok\n");
  return failures ? 1 : 0;
}
