/* record_convert: the whole life of a recording through the C ABI
 * (capi/roomrec.h), in plain C11.
 *
 *   1. create a recorder whose chunks go to --out (a folder, file:// or an S3 URI);
 *   2. two peers, alice and bob, join the room; each starts an Opus and a VP8
 *      track and sends a few seconds of real RTP (encoded by examples/synth.c,
 *      which stands in for what your media server receives), bob one second
 *      later and one second shorter than alice; both leave;
 *   3. wait until every chunk is uploaded;
 *   4. convert the recording: transmux it into one file per track plus a
 *      summary.json (--transmux-out) and compose it into one WebM of the whole
 *      room (--compose-out), then print the result JSON on stdout.
 *
 *   record_convert --out <folder | file:///abs | S3 URI>
 *                  [--transmux-out <folder | S3 URI prefix>]
 *                  [--compose-out <file.webm | S3 URI>] [--seconds 4]
 *
 * At least one of --transmux-out and --compose-out. An S3 URI carries its
 * credentials: http://KEY:SECRET@host:9000/bucket/prefix?path_style=true
 * Progress goes to stderr, the convert result to stdout.
 * Exit status: 0 done, 1 a roomrec call failed (the message says which and
 * why), 2 bad command line, 3 the synthetic media could not be encoded.
 *
 * Time is simulated: every call takes the time of the event in unix
 * milliseconds (now_ms), so a few seconds of room record as fast as they can
 * be encoded.
 */
#include <roomrec_convert.h> /* includes roomrec.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synth.h"

enum { EXIT_OK = 0, EXIT_ROOMREC = 1, EXIT_USAGE = 2, EXIT_MEDIA = 3 };

/* ---- error reporting ------------------------------------------------------- */

/* Reports a failed roomrec call. roomrec_last_error() is only valid until the
 * next roomrec call on this thread, so it is copied before anything else. */
static int report(const char* what, int rc) {
  char message[1024];
  snprintf(message, sizeof message, "%s", roomrec_last_error());
  fprintf(stderr, "record_convert: %s failed: %s (%d)%s%s\n", what, roomrec_strerror(rc), rc,
          message[0] ? ": " : "", message);
  return EXIT_ROOMREC;
}

/* ---- small helpers ----------------------------------------------------------- */

/* Writes s as a quoted JSON string into out (paths may hold quotes or
 * backslashes). Returns 0, or -1 if it does not fit. */
static int json_string(char* out, size_t cap, const char* s) {
  size_t n = 0;
  if (cap < 3) return -1;
  out[n++] = '"';
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    size_t len;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      len = 2;
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      len = 6;
    } else {
      esc[0] = (char)c;
      len = 1;
    }
    if (n + len + 2 > cap) return -1;
    memcpy(out + n, esc, len);
    n += len;
  }
  out[n++] = '"';
  out[n] = '\0';
  return 0;
}

static int starts_with(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Where the converter finds the room: the --out location joined with the
 * session's room path ("{app}/{room}/{room_record_id}"). An S3 URI keeps its
 * query string (path_style, region) last. Returns 0, or -1 if it does not fit. */
static int recording_location(char* out, size_t cap, const char* sink, const char* room_path) {
  const char* query = "";
  size_t base_len = strlen(sink);
  if (starts_with(sink, "http://") || starts_with(sink, "https://")) {
    const char* q = strchr(sink, '?');
    if (q) {
      query = q;
      base_len = (size_t)(q - sink);
    }
  }
  while (base_len > 1 && sink[base_len - 1] == '/') --base_len;
  int n = snprintf(out, cap, "%.*s/%s%s", (int)base_len, sink, room_path, query);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Unix milliseconds now (C11 timespec_get): the simulated room starts here. */
static uint64_t unix_ms(void) {
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 1731132577000ull;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- callbacks ----------------------------------------------------------------- */

/* A video track needs a keyframe (it just started, or packets were lost).
 * Runs on the thread calling the session; a media server would send the peer
 * a PLI here. synth.c sends a keyframe every 2 s anyway. */
static void on_keyframe_request(roomrec_session* session, uint32_t track_id, void* user) {
  (void)session;
  (void)user;
  fprintf(stderr, "record_convert: keyframe requested on track %u\n", (unsigned)track_id);
}

/* Store and upload trouble (a failed upload attempt is retried). Runs on any
 * library thread. */
static void on_recorder_error(int code, const char* message, void* user) {
  (void)user;
  fprintf(stderr, "record_convert: recorder: %s: %s\n", roomrec_strerror(code), message);
}

/* A chunk reached --out. Runs on an upload worker thread. */
static void on_uploaded(const char* key, uint64_t bytes, void* user) {
  (void)user;
  fprintf(stderr, "record_convert: uploaded %s (%llu bytes)\n", key, (unsigned long long)bytes);
}

/* ---- feeding a peer's RTP -------------------------------------------------------- */

typedef struct peer {
  const char* name;
  uint64_t joined_ms; /* unix ms of its join: packet times are offsets from it */
  uint32_t seconds;
  double tone_hz;
  uint8_t shade;
  roomrec_session* session;
  unsigned long dropped; /* packets the session did not record (counted in its stats) */
  int error;             /* a negative code stopped the feed */
} peer;

/* synth_generate() calls this for every RTP packet, in time order. */
static int feed_packet(uint32_t track_id, uint32_t offset_ms, const uint8_t* packet, size_t n, void* user) {
  peer* p = (peer*)user;
  uint64_t now = p->joined_ms + offset_ms;
  int rc = roomrec_session_rtp(p->session, track_id, packet, n, now);
  if (rc < 0) { /* a negative code is an error: stop the stream */
    p->error = rc;
    report("roomrec_session_rtp", rc);
    return 1;
  }
  if (rc > 0) ++p->dropped; /* a positive ROOMREC_RECORD_* code: dropped, recording goes on */
  /* Time-based chunk rotation: a server calls this about once a second. */
  if (offset_ms % 1000 == 0) roomrec_session_tick(p->session, now);
  return 0;
}

/* Joins the room and starts the peer's two tracks. */
static int join(roomrec_recorder* rec, peer* p, uint32_t session_id) {
  char params[512];
  snprintf(params, sizeof params,
           "{\"app\": \"example\", \"room\": \"example-room\", \"peer\": \"%s\", \"session_id\": %u,"
           " \"ip\": \"127.0.0.1\", \"user_agent\": \"record_convert.c\"}",
           p->name, (unsigned)session_id);
  int rc = roomrec_session_open(rec, params, p->joined_ms, &p->session);
  if (rc != ROOMREC_OK) return report("roomrec_session_open", rc);
  /* Track ids are the host's own numbers; they must match roomrec_session_rtp's. */
  rc = roomrec_session_track_started(p->session, SYNTH_AUDIO_TRACK,
                                     "{\"kind\": \"audio\", \"name\": \"audio_main\", \"codec\": \"opus\","
                                     " \"clock_rate\": 48000, \"channels\": 2, \"fmtp\": \"useinbandfec=1\"}",
                                     p->joined_ms);
  if (rc != ROOMREC_OK) return report("roomrec_session_track_started (audio)", rc);
  rc = roomrec_session_track_started(p->session, SYNTH_VIDEO_TRACK,
                                     "{\"kind\": \"video\", \"name\": \"video_main\", \"codec\": \"vp8\","
                                     " \"clock_rate\": 90000}",
                                     p->joined_ms);
  if (rc != ROOMREC_OK) return report("roomrec_session_track_started (video)", rc);
  return EXIT_OK;
}

/* Sends the peer's RTP: seconds of VP8 320x240 at 15 fps and an Opus tone. */
static int send_media(peer* p) {
  synth_params sp = {p->seconds, 320, 240, 15, p->tone_hz, p->shade, 0x1111u, 0x2222u};
  if (synth_generate(&sp, feed_packet, p) != 0) {
    if (p->error) return EXIT_ROOMREC; /* already reported */
    fprintf(stderr, "record_convert: encoding %s's media failed\n", p->name);
    return EXIT_MEDIA;
  }
  return p->error ? EXIT_ROOMREC : EXIT_OK;
}

/* ---- the program ------------------------------------------------------------------ */

static int usage(const char* why) {
  fprintf(stderr,
          "record_convert: %s\n"
          "usage: record_convert --out <folder | file:///abs | S3 URI> [--transmux-out <folder | S3 URI>]\n"
          "                      [--compose-out <file.webm | S3 URI>] [--seconds 4]\n",
          why);
  return EXIT_USAGE;
}

int main(int argc, char** argv) {
  const char *out = NULL, *transmux_out = NULL, *compose_out = NULL;
  long seconds = 4;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return usage("every option takes a value");
    const char* v = argv[++i];
    if (strcmp(argv[i - 1], "--out") == 0) out = v;
    else if (strcmp(argv[i - 1], "--transmux-out") == 0) transmux_out = v;
    else if (strcmp(argv[i - 1], "--compose-out") == 0) compose_out = v;
    else if (strcmp(argv[i - 1], "--seconds") == 0) {
      char* end = NULL;
      seconds = strtol(v, &end, 10);
      if (!end || *end || seconds < 2 || seconds > 600) return usage("--seconds takes 2..600");
    } else return usage("unknown option");
  }
  if (!out || !*out) return usage("--out is required");
  if (!transmux_out && !compose_out) return usage("give --transmux-out, --compose-out or both");

  fprintf(stderr, "record_convert: libroomrec %s\n", roomrec_version());
  if (roomrec_abi_version() != ROOMREC_ABI_VERSION) {
    fprintf(stderr, "record_convert: libroomrec has ABI %d, this program was built for %d\n",
            roomrec_abi_version(), ROOMREC_ABI_VERSION);
    return EXIT_ROOMREC;
  }

  int status = EXIT_OK, rc;
  roomrec_recorder* rec = NULL;
  char* room_path = NULL;
  char* result = NULL;
  peer peers[2] = {{"alice", 0, 0, 440.0, 40, NULL, 0, 0}, {"bob", 0, 0, 660.0, 160, NULL, 0, 0}};

  /* 1. The recorder. A session's chunk closes at 64 KiB or 10 s (small, so a
   * few seconds make several) and is uploaded to --out by one of two
   * workers; the store keeps up to 64 MiB in memory meanwhile. */
  char config[4096], uri[2048];
  if (json_string(uri, sizeof uri, out) != 0) return usage("--out is too long");
  snprintf(config, sizeof config,
           "{\"max_chunk_bytes\": 65536, \"max_chunk_ms\": 10000,"
           " \"store\": {\"memory_budget_bytes\": 67108864},"
           " \"upload\": {\"uri\": %s, \"workers\": 2}}",
           uri);
  rc = roomrec_recorder_new(config, &rec);
  if (rc != ROOMREC_OK) return report("roomrec_recorder_new", rc);
  /* Callbacks are set between _new and _start. */
  if ((rc = roomrec_recorder_set_keyframe_callback(rec, on_keyframe_request, NULL)) != ROOMREC_OK ||
      (rc = roomrec_recorder_set_error_callback(rec, on_recorder_error, NULL)) != ROOMREC_OK ||
      (rc = roomrec_recorder_set_uploaded_callback(rec, on_uploaded, NULL)) != ROOMREC_OK) {
    status = report("roomrec_recorder_set_*_callback", rc);
    goto done;
  }
  rc = roomrec_recorder_start(rec);
  if (rc != ROOMREC_OK) {
    status = report("roomrec_recorder_start", rc);
    goto done;
  }

  /* 2. The room. A media server calls each session from the thread receiving
   * that peer's packets; here the peers are fed one after the other, every
   * packet stamped with its (simulated) arrival time, which records the same. */
  const uint64_t t0 = unix_ms();
  peers[0].joined_ms = t0;
  peers[0].seconds = (uint32_t)seconds;
  peers[1].joined_ms = t0 + 1000;
  peers[1].seconds = (uint32_t)seconds - 1;
  for (int i = 0; i < 2 && status == EXIT_OK; ++i) status = join(rec, &peers[i], (uint32_t)(i + 1));
  for (int i = 0; i < 2 && status == EXIT_OK; ++i) status = send_media(&peers[i]);
  if (status != EXIT_OK) goto done;

  const uint64_t end_ms = t0 + (uint64_t)seconds * 1000u;
  for (int i = 0; i < 2; ++i) {
    const char* bye = "bye";
    roomrec_session_data(peers[i].session, "chat", 0, (const uint8_t*)bye, strlen(bye), end_ms);
    roomrec_session_track_stopped(peers[i].session, SYNTH_AUDIO_TRACK, end_ms);
    roomrec_session_track_stopped(peers[i].session, SYNTH_VIDEO_TRACK, end_ms);
    char* stats = NULL;
    if (roomrec_session_stats(peers[i].session, &stats) == ROOMREC_OK)
      fprintf(stderr, "record_convert: %s: %s\n", peers[i].name, stats);
    roomrec_free_string(stats);
    if (peers[i].dropped) fprintf(stderr, "record_convert: %s: %lu packets dropped\n", peers[i].name, peers[i].dropped);
    /* Leaving writes the leave row and hands the last chunk to the upload queue. */
    rc = roomrec_session_leave(peers[i].session, end_ms);
    if (rc != ROOMREC_OK) {
      status = report("roomrec_session_leave", rc);
      goto done;
    }
  }
  /* Every session of the room shares its room path: what the converter takes. */
  rc = roomrec_session_room_path(peers[0].session, &room_path);
  if (rc != ROOMREC_OK) {
    status = report("roomrec_session_room_path", rc);
    goto done;
  }

  /* 3. Wait for the uploads, then stop the workers. */
  fprintf(stderr, "record_convert: waiting for the uploads\n");
  rc = roomrec_recorder_flush(rec, 60000);
  if (rc != ROOMREC_OK) {
    status = report("roomrec_recorder_flush", rc);
    goto done;
  }
  size_t unsent = 0;
  rc = roomrec_recorder_shutdown(rec, 10000, &unsent);
  if (rc != ROOMREC_OK || unsent != 0) {
    status = report("roomrec_recorder_shutdown", rc != ROOMREC_OK ? rc : ROOMREC_ERR_TIMEOUT);
    goto done;
  }

  /* 4. Convert. The job is JSON too; roomrec_convert blocks until it is done
   * (roomrec_convert_job_start runs it on a thread with progress reports). */
  char location[4096], input[4200], output[4200], job[16384];
  if (recording_location(location, sizeof location, out, room_path) != 0 ||
      json_string(input, sizeof input, location) != 0) {
    status = usage("--out is too long");
    goto done;
  }
  fprintf(stderr, "record_convert: recorded %s\nrecord_convert: converting\n", location);
  int n = snprintf(job, sizeof job, "{\"input\": %s", input);
  if (transmux_out) {
    if (json_string(output, sizeof output, transmux_out) != 0) {
      status = usage("--transmux-out is too long");
      goto done;
    }
    n += snprintf(job + n, sizeof job - (size_t)n, ", \"transmux\": {\"output\": %s}", output);
  }
  if (compose_out) {
    if (json_string(output, sizeof output, compose_out) != 0) {
      status = usage("--compose-out is too long");
      goto done;
    }
    n += snprintf(job + n, sizeof job - (size_t)n,
                  ", \"compose\": {\"output\": %s, \"width\": 640, \"height\": 360, \"fps\": 15}", output);
  }
  snprintf(job + n, sizeof job - (size_t)n, "}");
  rc = roomrec_convert(job, &result);
  if (rc != ROOMREC_OK) {
    status = report("roomrec_convert", rc);
    goto done;
  }
  /* {"input", "app", "room", "room_record_id", "transmux": {"files": [...], ...},
   *  "compose": {"media_uri", "duration_ms"}, "problems": [...]} */
  printf("%s\n", result);

done:
  /* Strings from the library go back with roomrec_free_string, handles with
   * their _free (both accept NULL). Sessions are freed before the recorder is. */
  roomrec_free_string(result);
  roomrec_free_string(room_path);
  for (int i = 0; i < 2; ++i) roomrec_session_free(peers[i].session);
  roomrec_recorder_free(rec);
  return status;
}
