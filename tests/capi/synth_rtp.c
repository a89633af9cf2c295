/* Writes a synthetic peer stream (VP8 + Opus RTP, see synth.h) to a file the
 * Python tests feed through the bindings. Record layout, little endian:
 *   u8 track_id | u32 offset_ms | u16 length | packet bytes
 *
 *   synth_rtp OUT SECONDS WIDTH HEIGHT FPS TONE_HZ SHADE AUDIO_SSRC VIDEO_SSRC
 */
#include <stdio.h>
#include <stdlib.h>

#include "synth.h"

static int write_packet(uint32_t track_id, uint32_t offset_ms, const uint8_t* packet, size_t n, void* user) {
  FILE* f = (FILE*)user;
  uint8_t h[7] = {(uint8_t)track_id,        (uint8_t)offset_ms,         (uint8_t)(offset_ms >> 8),
                  (uint8_t)(offset_ms >> 16), (uint8_t)(offset_ms >> 24), (uint8_t)n,
                  (uint8_t)(n >> 8)};
  if (fwrite(h, 1, sizeof h, f) != sizeof h || fwrite(packet, 1, n, f) != n) return 1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: %s OUT SECONDS WIDTH HEIGHT FPS TONE_HZ SHADE AUDIO_SSRC VIDEO_SSRC\n", argv[0]);
    return 2;
  }
  synth_params p;
  p.seconds = (uint32_t)strtoul(argv[2], NULL, 10);
  p.width = (uint32_t)strtoul(argv[3], NULL, 10);
  p.height = (uint32_t)strtoul(argv[4], NULL, 10);
  p.fps = (uint32_t)strtoul(argv[5], NULL, 10);
  p.tone_hz = strtod(argv[6], NULL);
  p.shade = (uint8_t)strtoul(argv[7], NULL, 10);
  p.audio_ssrc = (uint32_t)strtoul(argv[8], NULL, 10);
  p.video_ssrc = (uint32_t)strtoul(argv[9], NULL, 10);
  if (!p.seconds || !p.width || !p.height || !p.fps || (p.width | p.height) & 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "wb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  int rc = synth_generate(&p, write_packet, f);
  if (fclose(f) != 0 || rc != 0) {
    fprintf(stderr, "synth_rtp failed\n");
    return 1;
  }
  return 0;
}
