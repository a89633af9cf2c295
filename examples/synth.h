/* Real media for examples/record_convert.c and the C ABI tests
 * (tests/capi/): VP8 (libvpx) and Opus (libopus) encoded and packetized into
 * RTP the way a browser sends them (RFC 7741 with a 1-byte descriptor, one
 * 20 ms Opus frame per packet). It stands in for the RTP a media server
 * receives from its peers. Plain C11. */
#ifndef ROOMREC_TEST_SYNTH_H
#define ROOMREC_TEST_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_AUDIO_TRACK 1u
#define SYNTH_VIDEO_TRACK 2u
#define SYNTH_OPUS_PT 111
#define SYNTH_VP8_PT 96

/* Called for each packet in time order; offset_ms from the stream's start.
 * Returns 0 to go on, non-zero to stop. */
typedef int (*synth_emit_fn)(uint32_t track_id, uint32_t offset_ms, const uint8_t* packet, size_t n, void* user);

typedef struct synth_params {
  uint32_t seconds;
  uint32_t width, height, fps;
  double tone_hz;        /* Opus sine tone */
  uint8_t shade;         /* base luma of the moving pattern, tells peers apart */
  uint32_t audio_ssrc, video_ssrc;
} synth_params;

/* Encodes and emits the whole stream; 0 on success, -1 if a codec failed. */
int synth_generate(const synth_params* p, synth_emit_fn emit, void* user);

#endif
