/* A C host built from the installed packages only (tests/packaging/test_packages.sh):
 *   cc $(pkg-config --cflags roomrec) installed_host.c $(pkg-config --libs roomrec)
 * It checks the installed library's version against the one expected, records
 * one peer's Opus track (2 s of 20 ms packets) into a local folder and prints
 * the room's recording folder (OUT/<room path>) as its last line. */
#include <roomrec.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fail(const char* what, int rc) {
  fprintf(stderr, "installed_host: %s failed: %d %s\n", what, rc, roomrec_last_error());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: installed_host EXPECTED_VERSION OUT_DIR\n");
    return 2;
  }
  if (strcmp(roomrec_version(), argv[1]) != 0) {
    fprintf(stderr, "installed_host: library version %s, expected %s\n", roomrec_version(), argv[1]);
    return 1;
  }
  if (roomrec_abi_version() != ROOMREC_ABI_VERSION) {
    fprintf(stderr, "installed_host: ABI %d, header says %d\n", roomrec_abi_version(), ROOMREC_ABI_VERSION);
    return 1;
  }
  char config[4200];
  snprintf(config, sizeof config, "{\"upload\": {\"uri\": \"%s\"}}", argv[2]);
  roomrec_recorder* rec = NULL;
  int rc = roomrec_recorder_new(config, &rec);
  if (rc != ROOMREC_OK) return fail("roomrec_recorder_new", rc);
  if ((rc = roomrec_recorder_start(rec)) != ROOMREC_OK) return fail("roomrec_recorder_start", rc);

  const uint64_t t0 = 1700000000000ULL;
  roomrec_session* s = NULL;
  rc = roomrec_session_open(rec, "{\"app\": \"pkg\", \"room\": \"installed\", \"peer\": \"alice\", \"session_id\": 1}",
                            t0, &s);
  if (rc != ROOMREC_OK) return fail("roomrec_session_open", rc);
  rc = roomrec_session_track_started(
      s, 1, "{\"kind\": \"audio\", \"name\": \"audio_main\", \"codec\": \"opus\", \"clock_rate\": 48000, \"ssrc\": 4321}",
      t0);
  if (rc != ROOMREC_OK) return fail("roomrec_session_track_started", rc);
  uint8_t p[15];
  for (int i = 0; i < 100; i++) {
    const uint16_t seq = (uint16_t)(1000 + i);
    const uint32_t ts = (uint32_t)(i * 960), ssrc = 4321;
    memset(p, 0, sizeof p);
    p[0] = 0x80;
    p[1] = (uint8_t)(i == 0 ? 0x80 | 111 : 111);
    p[2] = (uint8_t)(seq >> 8), p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24), p[5] = (uint8_t)(ts >> 16), p[6] = (uint8_t)(ts >> 8), p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24), p[9] = (uint8_t)(ssrc >> 16), p[10] = (uint8_t)(ssrc >> 8), p[11] = (uint8_t)ssrc;
    p[12] = 0xF8, p[13] = 0xFF, p[14] = 0xFE; /* Opus TOC: CELT fullband 20 ms, one frame of silence */
    rc = roomrec_session_rtp(s, 1, p, sizeof p, t0 + (uint64_t)i * 20);
    if (rc != ROOMREC_OK) return fail("roomrec_session_rtp", rc);
  }
  if ((rc = roomrec_session_leave(s, t0 + 2000)) != ROOMREC_OK) return fail("roomrec_session_leave", rc);
  char* room = NULL;
  if ((rc = roomrec_session_room_path(s, &room)) != ROOMREC_OK) return fail("roomrec_session_room_path", rc);
  size_t unsent = 1;
  if ((rc = roomrec_recorder_shutdown(rec, 10000, &unsent)) != ROOMREC_OK) return fail("roomrec_recorder_shutdown", rc);
  roomrec_session_free(s);
  roomrec_recorder_free(rec);
  if (unsent != 0) {
    fprintf(stderr, "installed_host: %zu chunks not uploaded\n", unsent);
    return 1;
  }
  printf("installed_host: libroomrec %s (ABI %d) recorded 100 Opus packets\n", roomrec_version(),
         roomrec_abi_version());
  printf("%s/%s\n", argv[2], room);
  roomrec_free_string(room);
  return 0;
}
