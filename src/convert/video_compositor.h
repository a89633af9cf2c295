// VideoCompositor: lays the room's decoded participant pictures out in a grid
// and encodes the result (VP8 or VP9, libvpx realtime) at a fixed frame rate.
//
// Output frame k is at t = start + round(k * 1000 / fps) and shows, for every
// source live at t, its latest picture with pts <= t. A source is live at t
// when it has such a picture, that picture is at most hold_ms old, and the
// source has not ended before t (an ended source is shown up to its last
// pushed picture and disappears at the next output frame after it).
//
// Grid for n live sources: cols = ceil(sqrt(n)), rows = ceil(n / cols)
// (1 -> full frame, 2 -> side by side, 3-4 -> 2x2, 5-6 -> 3x2, 7-9 -> 3x3,
// 10-12 -> 4x3, ...). A source keeps its cell while the grid keeps its shape
// (a newcomer takes the first free cell); when the shape changes every live
// source is reassigned in order of arrival (add_source order). Pictures are
// scaled to fit their cell keeping their aspect ratio, centered, with black
// bars (Y=16, U=V=128).
//
// Other layouts (layout.h: speaker, single-speaker, presentation, custom
// regions, changes at times) come in as a LayoutPlan: at each output frame
// the scene of that time places the live sources (layout.h's place()), the
// active speaker taken from set_speaker_turns(): the newest live camera of
// the turn's peer, else the camera shown as speaker before if still live,
// else the first live camera. Overlapping regions are drawn in z order.
// With `names`, each tile carries its label (FreeType, DejaVu Sans) in a dark
// box at its bottom left; with `speaker_border`, the active speaker's tile
// gets a yellow frame.
//
// Pictures may be pushed ahead of rendering (the Composer stays behind the
// newest row); each source queues them until the output clock reaches them,
// keeping only those some output frame will show.
//
// Threads: with encode_thread unset, none of its own (libvpx may use
// g_threads encoder threads) and render_until() returns every frame it
// rendered, encoded. With encode_thread set, one encoder thread: the frame
// is drawn into one of a few canvases and handed over, so the caller decodes
// and lays out the next frames while the encoder works; render_until()
// returns the packets ready so far (in order) and finish() the rest. Either
// way the calls themselves are made from one thread at a time.
#pragma once

#include <roomrec/status.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "convert/layout.h"
#include "media/label_font.h"
#include "media/video_decoder.h"

namespace roomrec::convert {

struct CompositorOptions {
  uint32_t width = 1280, height = 720, fps = 15;
  std::string codec = "vp8";  // or "vp9", or "h264" (OpenH264, AVCC frames; see codec_private())
  uint32_t bitrate = 1'500'000;  // bit/s (libvpx takes kbit/s: converted where it is set)
  uint32_t threads = 2;  // libvpx encoder threads (g_threads)
  bool encode_thread = false;  // encode on a thread of its own (see above)
  uint32_t keyframe_interval_frames = 150;
  int cpu_used = 8;
  uint64_t hold_ms = 2000;  // a frozen/absent picture is held this long, then its cell is freed
  LayoutPlan plan;          // empty: the grid throughout
  bool names = false;       // each tile's label drawn in it
  bool speaker_border = false;  // a frame around the active speaker's tile
  std::string font_path = media::kLabelFontPath;
};

struct EncodedVideo {
  std::vector<uint8_t> data;
  uint64_t pts_ms = 0;
  bool keyframe = false;
};

class VideoCompositor {
 public:
  explicit VideoCompositor(CompositorOptions o = {});  // creates the encoder lazily
  ~VideoCompositor();
  VideoCompositor(const VideoCompositor&) = delete;
  VideoCompositor& operator=(const VideoCompositor&) = delete;

  // Checks the options and starts the encoder. Called by render_until() if
  // the caller has not.
  Status init();
  // H264: the stream's avcC (after init()); empty for VP8/VP9.
  std::vector<uint8_t> codec_private() const;
  // A participant video track: `label` is drawn with `names`, `peer` is who
  // it belongs to (speaker turns, peer regions), `screen` a screen share.
  uint32_t add_source(std::string label, std::string peer = {}, bool screen = false);
  // Who is the active speaker when (layout.h speaker_turns()); before rendering.
  void set_speaker_turns(std::vector<SpeakerTurn> turns);
  // A decoded picture of the source at its room time; rotation 0/90/180/270
  // (CVO), applied here. Pictures older than the source's latest are ignored;
  // an invalid picture is counted in stats().decode_errors.
  void push(uint32_t source, const media::I420Frame& pic, uint64_t pts_ms, int rotation = 0);
  void end_source(uint32_t source);  // left: the cell is freed after its last pushed picture
  // The time of output frame 0; call before rendering (later calls are
  // ignored). Without it, rendering starts at the first pushed picture.
  void set_start(uint64_t start_ms);
  // Renders and encodes every output frame with t <= until_ms (the caller has
  // pushed all pictures with pts <= until_ms). With encode_thread, the packets
  // of the last frames may come out of a later call or finish().
  Status render_until(uint64_t until_ms, std::vector<EncodedVideo>& out);
  // Renders up to end_ms and flushes the encoder; later calls do nothing.
  Status finish(uint64_t end_ms, std::vector<EncodedVideo>& out);

  using Cell = Rect;
  // The cols*rows cells of the grid for n sources, row by row; even-aligned
  // coordinates tiling the whole frame (n = 0 -> empty).
  static std::vector<Cell> layout(uint32_t n, uint32_t width, uint32_t height);

  struct Stats {
    uint64_t frames_out = 0, decode_errors = 0, live_max = 0;
    uint64_t speaker_switches = 0;  // times the active speaker's camera changed
  };
  Stats stats() const { return stats_; }

 private:
  struct Picture {
    uint64_t pts = 0;
    media::I420Frame img;
  };
  struct Source {
    std::string label;
    std::string peer;
    bool screen = false;
    std::deque<Picture> queue;  // pushed, not yet reached by the output clock (pts ascending)
    bool has_current = false;
    Picture current;            // the latest picture with pts <= the output time
    uint64_t generation = 0;    // bumps when `current` changes
    bool ended = false;
    uint64_t end_ms = 0;        // ended: the pts of its last pushed picture
    bool have_last = false;
    uint64_t last_pushed = 0;
    int cell = -1;              // in the current grid, -1 when not shown
    // `current` scaled for its cell, reused while neither changes.
    media::I420Frame scaled;
    uint64_t scaled_generation = UINT64_MAX;
    // The label's mask for names, rendered for label_key (pixel size, width).
    media::TextMask label_mask;
    uint64_t label_key = 0;
  };
  struct Encoder;
  // An I420 frame the encoder reads (tightly packed), and what it shows: the
  // (source, cell, picture generation) drawn into it, to redraw only on change.
  struct Canvas {
    std::vector<uint8_t> data;
    std::vector<std::tuple<size_t, int, uint64_t>> shown;
    bool drawn = false;
    uint64_t epoch = 0;  // layout_epoch_ when drawn
  };

  uint64_t output_time(uint64_t k) const;
  uint64_t slot(uint64_t pts) const;
  bool live(const Source& s, uint64_t t) const;
  void advance_sources(uint64_t t);
  void assign_cells(uint64_t t);
  void assign_grid(uint64_t t, uint32_t n);
  void assign_regions(uint64_t t, const Scene& scene);
  int active_speaker(uint64_t t);
  void draw(Canvas& canvas);
  Rect draw_source(Source& s, const Cell& c, uint8_t* canvas);
  void draw_label(Source& s, const Rect& r, uint8_t* canvas);
  void draw_border(const Rect& r, uint8_t* canvas);
  Status collect(std::vector<EncodedVideo>& out, bool wait_all);
  Status init_vpx(const std::string& codec);
  Status init_canvases();
  media::I420Frame take_spare();
  void recycle(media::I420Frame&& f);

  CompositorOptions opt_;
  std::unique_ptr<Encoder> enc_;
  Status init_status_;
  bool initialized_ = false;
  bool finished_ = false;
  uint64_t start_ = 0;
  bool start_set_ = false;
  uint64_t next_k_ = 0;  // the next output frame
  std::vector<Source> sources_;
  uint32_t grid_cols_ = 0, grid_rows_ = 0;
  bool grid_mode_ = true;     // the last frame was laid out as the grid
  std::vector<Cell> cells_;
  uint64_t layout_epoch_ = 1;  // bumps when cells_, or the bordered source, change
  std::vector<SpeakerTurn> turns_;
  size_t turn_ = 0;            // turns_[turn_] is the turn at the last output time
  int speaker_ = -1;           // the active speaker's source, -1: none
  int border_ = -1;            // the source framed with speaker_border
  std::unique_ptr<media::LabelFont> font_;
  std::vector<LiveSource> live_scratch_;
  std::vector<Placement> placements_;
  std::vector<std::pair<int, size_t>> draw_order_;
  std::vector<Canvas> canvases_;            // 1, or a few with encode_thread
  std::vector<media::I420Frame> spare_;     // recycled picture buffers
  std::vector<std::tuple<size_t, int, uint64_t>> shown_;
  Stats stats_;
};

}  // namespace roomrec::convert
