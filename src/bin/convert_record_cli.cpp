// convert_record_cli: converts one room recording by command line, with the
// flags and environment variables of the reference tool plus local inputs and
// composer options. The result JSON goes to stdout, progress and errors to
// stderr. Exit codes: 0 done, 1 conversion failed, 2 bad flags, 130 interrupted.
#include <roomrec/converter.h>
#include <roomrec/log.h>
#include <roomrec/version.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/text.h"
#include "util/utf8.h"

namespace {

// The seed's usage text, verbatim; our extra options follow it.
constexpr const char* kUsage =
    R"(Record file converter for atm0s-media-server. This tool allow convert room raw record to multiple webm files

Usage: convert_record_cli [OPTIONS] --in-s3 <IN_S3>

Options:
      --in-s3 <IN_S3>                          S3 Source [env: IN_S3=]
      --transmux                               Transmux [env: TRANSMUX=]
      --transmux-out-s3 <TRANSMUX_OUT_S3>      Transmux S3 Dest [env: TRANSMUX_OUT_S3=]
      --transmux-out-path <TRANSMUX_OUT_PATH>  Transmux Folder Dest [env: TRANSMUX_OUT_PATH=]
      --compose-audio                          Compose audio [env: COMPOSE_AUDIO=]
      --compose-video                          Compose video [env: COMPOSE_VIDEO=]
      --compose-out-s3 <COMPOSE_OUT_S3>        Compose S3 URL [env: COMPOSE_OUT_S3=]
      --compose-out-path <COMPOSE_OUT_PATH>    Compose File Path [env: COMPOSE_OUT_PATH=]
  -h, --help                                   Print help
  -V, --version                                Print version
)";

constexpr const char* kExtra =
    R"(
More options (roomrec):
      --compose-size <WxH>                     Composed video size, default 1280x720 [env: COMPOSE_SIZE=]
      --compose-fps <FPS>                      Composed frame rate, default 15 [env: COMPOSE_FPS=]
      --compose-video-bitrate <BPS>            Video bitrate in bit/s (k/M suffixes), default 1500k [env: COMPOSE_VIDEO_BITRATE=]
      --compose-audio-bitrate <BPS>            Audio bitrate in bit/s (k/M suffixes), default 64k [env: COMPOSE_AUDIO_BITRATE=]
      --compose-codec <vp8|vp9|h264>           Composed video codec, default vp8 (WebM); h264: MP4 [env: COMPOSE_CODEC=]
      --compose-audio-codec <opus|aac>         Composed audio codec, default aac with h264, else opus; aac
                                               makes an MP4 [env: COMPOSE_AUDIO_CODEC=]
      --compose-thumbnails <SECONDS>           Thumbnails every SECONDS (JPEGs, sprite, WebVTT) into
                                               {compose-out-path without .webm}-thumbnails/ [env: COMPOSE_THUMBNAILS=]
      --compose-layout <LAYOUT>                grid (default), speaker, single-speaker, presentation, a JSON
                                               layout ({"regions": [...], "changes": [...]}) or @FILE holding
                                               one [env: COMPOSE_LAYOUT=]
      --compose-speaker-hold <MS>              The active speaker stays at least MS, default 2000 [env: COMPOSE_SPEAKER_HOLD=]
      --compose-speaker-lead <MS>              Switch to a speaker MS before the voice, default 300 [env: COMPOSE_SPEAKER_LEAD=]
      --compose-names                          Each tile shows its peer's name [env: COMPOSE_NAMES=]
      --compose-speaker-border                 A yellow frame around the active speaker [env: COMPOSE_SPEAKER_BORDER=]
      --threads <N>                            Threads for transmuxing sessions, participant files and encoding, default: cores [env: THREADS=]
      --speakers                               With --transmux: who spoke when, speakers.json beside summary.json [env: SPEAKERS=]
      --transmux-format <auto|webm|mkv|mp4>    Container of the transmuxed files, default auto (mp4 for H264/AV1,
                                               webm for VP8/VP9/Opus); a codec the container cannot hold goes to
                                               the nearest one that can, listed in "problems" [env: TRANSMUX_FORMAT=]
      --transmux-mp4-mode <faststart|fragmented>
                                               MP4 index at the front (default) or fragmented MP4 written as it
                                               goes [env: TRANSMUX_MP4_MODE=]
      --pause-mode <cut|keep>                  Recording pauses: cut the paused time out (default), or keep it as a
                                               gap on the room timeline (transmux and compose) [env: PAUSE_MODE=]
      --include-peers <P1,P2,...>              Only these peers go into the outputs (consent) [env: INCLUDE_PEERS=]
      --exclude-peers <P1,P2,...>              These peers go into no output, not even the mix [env: EXCLUDE_PEERS=]
      --exclude-tracks <PEER/TRACK,TRACK,...>  Tracks left out: one peer's (alice/video_main) or every peer's
                                               (video_main) [env: EXCLUDE_TRACKS=]
      --participants                           One file per participant on the room's timeline: {peer}.webm (audio+video,
                                               sessions joined, gaps filled), {peer}-audio.webm, participants.json [env: PARTICIPANTS=]
      --participants-out-s3 <URI>              Participant files S3 Dest (prefix) [env: PARTICIPANTS_OUT_S3=]
      --participants-out-path <DIR>            Participant files Folder Dest [env: PARTICIPANTS_OUT_PATH=]
      --participants-speaker-audio=<BOOL>      Also {peer}-audio.webm per peer, default true [env: PARTICIPANTS_SPEAKER_AUDIO=]
      --participants-multichannel              Also speakers-multichannel.wav: 16 kHz, one channel per peer [env: PARTICIPANTS_MULTICHANNEL=]
  -q, --quiet                                  No progress output

--in-s3 takes an S3 URI (http(s)://KEY:SECRET@host:port/bucket/app/room/record_id?path_style=true),
a local folder or file:// URI with the same layout, or a folder of Janus .mjr files.
--compose-out-s3 takes an S3 URI naming the object or an already presigned PUT URL.
Boolean environment variables take true/false, 1/0, yes/no, on/off.
The result is printed as JSON on stdout. Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.
)";

std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int) { g_cancel.store(true); }

struct UsageError {
  std::string message;
};

[[noreturn]] void usage_error(const std::string& msg) { throw UsageError{msg}; }

std::optional<bool> parse_bool(std::string_view v) {
  std::string s = roomrec::util::ascii_lowercase(v);
  if (s == "1" || s == "true" || s == "yes" || s == "on" || s == "y") return true;
  if (s.empty() || s == "0" || s == "false" || s == "no" || s == "off" || s == "n") return false;
  return std::nullopt;
}

// Syntax only: a number that fits. Ranges are the library's (validate()), so
// the CLI says the same words for a bad value as the worker, C and Python.
uint32_t parse_uint(std::string_view flag, std::string_view v) {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size())
    usage_error(std::string(flag) + " must be a whole number, got '" + std::string(v) + "'");
  return n;
}

// --compose-layout: the value itself, or with @FILE the file's text (a JSON layout).
std::string read_layout(const std::string& v) {
  if (v.empty() || v[0] != '@') return v;
  std::FILE* f = std::fopen(v.c_str() + 1, "rb");
  if (!f) usage_error("--compose-layout: cannot read " + v.substr(1) + ": " + std::strerror(errno));
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < (1u << 20)) text.append(buf, n);
  std::fclose(f);
  return text;
}

// "1500000", "1500k", "1.5M" -> bits per second.
uint32_t parse_bitrate(std::string_view flag, std::string_view v) {
  double mult = 1;
  std::string_view num = v;
  if (!num.empty() && (num.back() == 'k' || num.back() == 'K')) mult = 1e3, num.remove_suffix(1);
  else if (!num.empty() && (num.back() == 'm' || num.back() == 'M')) mult = 1e6, num.remove_suffix(1);
  double d = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
  if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !(d * mult >= 0) || d * mult > 4e9)
    usage_error(std::string(flag) + " must be a bit rate in bit/s, with k or M if you like (e.g. 1500k), got '" +
                std::string(v) + "'");
  return static_cast<uint32_t>(d * mult + 0.5);
}

struct Flags {
  std::optional<std::string> in_s3, transmux_out_s3, transmux_out_path, compose_out_s3, compose_out_path;
  std::optional<bool> transmux, compose_audio, compose_video, speakers, names, speaker_border;
  std::optional<bool> participants, participants_speaker_audio, participants_multichannel;
  std::optional<std::string> participants_out_s3, participants_out_path;
  std::optional<std::string> size, fps, video_bitrate, audio_bitrate, codec, threads, thumbnails;
  std::optional<std::string> transmux_format, transmux_mp4_mode, audio_codec;
  std::optional<std::string> layout, speaker_hold, speaker_lead;
  std::optional<std::string> pause_mode, include_peers, exclude_peers, exclude_tracks;
  bool quiet = false;
};

struct Spec {
  const char* name;
  const char* env;
  std::optional<std::string> Flags::*value = nullptr;
  std::optional<bool> Flags::*flag = nullptr;
};

const Spec kSpecs[] = {
    {"--in-s3", "IN_S3", &Flags::in_s3},
    {"--transmux", "TRANSMUX", nullptr, &Flags::transmux},
    {"--transmux-out-s3", "TRANSMUX_OUT_S3", &Flags::transmux_out_s3},
    {"--transmux-out-path", "TRANSMUX_OUT_PATH", &Flags::transmux_out_path},
    {"--speakers", "SPEAKERS", nullptr, &Flags::speakers},
    {"--transmux-format", "TRANSMUX_FORMAT", &Flags::transmux_format},
    {"--transmux-mp4-mode", "TRANSMUX_MP4_MODE", &Flags::transmux_mp4_mode},
    {"--compose-audio", "COMPOSE_AUDIO", nullptr, &Flags::compose_audio},
    {"--compose-video", "COMPOSE_VIDEO", nullptr, &Flags::compose_video},
    {"--compose-out-s3", "COMPOSE_OUT_S3", &Flags::compose_out_s3},
    {"--compose-out-path", "COMPOSE_OUT_PATH", &Flags::compose_out_path},
    {"--compose-size", "COMPOSE_SIZE", &Flags::size},
    {"--compose-fps", "COMPOSE_FPS", &Flags::fps},
    {"--compose-video-bitrate", "COMPOSE_VIDEO_BITRATE", &Flags::video_bitrate},
    {"--compose-audio-bitrate", "COMPOSE_AUDIO_BITRATE", &Flags::audio_bitrate},
    {"--compose-codec", "COMPOSE_CODEC", &Flags::codec},
    {"--compose-audio-codec", "COMPOSE_AUDIO_CODEC", &Flags::audio_codec},
    {"--compose-thumbnails", "COMPOSE_THUMBNAILS", &Flags::thumbnails},
    {"--compose-layout", "COMPOSE_LAYOUT", &Flags::layout},
    {"--compose-speaker-hold", "COMPOSE_SPEAKER_HOLD", &Flags::speaker_hold},
    {"--compose-speaker-lead", "COMPOSE_SPEAKER_LEAD", &Flags::speaker_lead},
    {"--compose-names", "COMPOSE_NAMES", nullptr, &Flags::names},
    {"--compose-speaker-border", "COMPOSE_SPEAKER_BORDER", nullptr, &Flags::speaker_border},
    {"--threads", "THREADS", &Flags::threads},
    {"--pause-mode", "PAUSE_MODE", &Flags::pause_mode},
    {"--include-peers", "INCLUDE_PEERS", &Flags::include_peers},
    {"--exclude-peers", "EXCLUDE_PEERS", &Flags::exclude_peers},
    {"--exclude-tracks", "EXCLUDE_TRACKS", &Flags::exclude_tracks},
    {"--participants", "PARTICIPANTS", nullptr, &Flags::participants},
    {"--participants-out-s3", "PARTICIPANTS_OUT_S3", &Flags::participants_out_s3},
    {"--participants-out-path", "PARTICIPANTS_OUT_PATH", &Flags::participants_out_path},
    {"--participants-speaker-audio", "PARTICIPANTS_SPEAKER_AUDIO", nullptr, &Flags::participants_speaker_audio},
    {"--participants-multichannel", "PARTICIPANTS_MULTICHANNEL", nullptr, &Flags::participants_multichannel},
};

enum class Action { run, help, version };

Action parse(int argc, char** argv, Flags& f) {
  // Command line first; the environment fills what the command line left unset.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return Action::help;
    if (arg == "-V" || arg == "--version") return Action::version;
    if (arg == "-q" || arg == "--quiet") {
      f.quiet = true;
      continue;
    }
    std::string_view name = arg, inline_value;
    bool has_inline = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
      has_inline = true;
    }
    const Spec* spec = nullptr;
    for (const auto& s : kSpecs)
      if (name == s.name) spec = &s;
    // The name only: a mistyped flag's value ("--secrett=...") may be a secret (issue 21 item 9).
    if (!spec) usage_error("unexpected argument '" + roomrec::util::printable_text(name, 64) + "'" + (has_inline ? " (value not shown)" : ""));
    if (spec->flag) {
      if (has_inline) {
        auto b = parse_bool(inline_value);
        if (!b) usage_error(std::string(name) + " takes true or false (the value given is not shown)");
        f.*(spec->flag) = *b;
      } else {
        f.*(spec->flag) = true;
      }
      continue;
    }
    if (f.*(spec->value)) usage_error(std::string(name) + " given more than once");
    if (has_inline) {
      f.*(spec->value) = std::string(inline_value);
    } else {
      if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
      f.*(spec->value) = std::string(argv[++i]);
    }
  }
  for (const auto& s : kSpecs) {
    const char* env = std::getenv(s.env);
    if (!env) continue;
    if (s.flag) {
      if (f.*(s.flag)) continue;
      auto b = parse_bool(env);
      if (!b) usage_error(std::string("environment ") + s.env + " takes true or false (its value is not shown)");
      f.*(s.flag) = *b;
    } else if (!(f.*(s.value)) && *env) {
      f.*(s.value) = std::string(env);
    }
  }
  return Action::run;
}

void require_s3(const char* flag, const std::optional<std::string>& v) {
  if (v && !roomrec::util::is_http_uri(*v))
    usage_error(std::string(flag) + " takes an S3 URI (http(s)://KEY:SECRET@host/bucket/...); for a local "
                "destination use the -path flag");
}

// "a,b,c" -> {"a", "b", "c"} (an empty item stays, for validate() to name).
std::vector<std::string> split_names(const std::optional<std::string>& v) {
  std::vector<std::string> out;
  if (!v) return out;
  size_t from = 0;
  for (;;) {
    size_t comma = v->find(',', from);
    out.push_back(v->substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

roomrec::ConvertJob build_job(const Flags& f) {
  require_s3("--transmux-out-s3", f.transmux_out_s3);
  require_s3("--compose-out-s3", f.compose_out_s3);
  require_s3("--participants-out-s3", f.participants_out_s3);
  roomrec::ConvertJob job;
  if (!f.in_s3 || f.in_s3->empty())
    usage_error("the following required arguments were not provided: --in-s3 <IN_S3>");
  job.input = *f.in_s3;

  unsigned threads = 0;
  if (f.threads) threads = parse_uint("--threads", *f.threads);

  const bool transmux = f.transmux.value_or(false);
  if (transmux) {
    if (f.transmux_out_s3 && f.transmux_out_path)
      usage_error("give --transmux-out-s3 or --transmux-out-path, not both");
    if (!f.transmux_out_s3 && !f.transmux_out_path)
      usage_error("--transmux needs --transmux-out-s3 <TRANSMUX_OUT_S3> or --transmux-out-path <TRANSMUX_OUT_PATH>");
    job.transmux.emplace();
    job.transmux->output = f.transmux_out_s3 ? *f.transmux_out_s3 : *f.transmux_out_path;
    job.transmux->threads = threads;
    job.transmux->speakers = f.speakers.value_or(false);
    if (f.transmux_format) job.transmux->format = *f.transmux_format;
    if (f.transmux_mp4_mode) job.transmux->mp4_mode = *f.transmux_mp4_mode;
    if (f.pause_mode) job.transmux->pause_mode = *f.pause_mode;
  } else if (f.transmux_out_s3 || f.transmux_out_path) {
    usage_error("a transmux destination was given without --transmux");
  } else if (f.transmux_format || f.transmux_mp4_mode) {
    usage_error("--transmux-format and --transmux-mp4-mode need --transmux");
  } else if (f.speakers.value_or(false)) {
    usage_error("--speakers writes speakers.json beside the transmuxed files: give --transmux too");
  }

  const bool audio = f.compose_audio.value_or(false), video = f.compose_video.value_or(false);
  const bool compose_opts = f.size || f.fps || f.video_bitrate || f.audio_bitrate || f.codec || f.audio_codec || f.thumbnails ||
                            f.layout || f.speaker_hold || f.speaker_lead || f.names || f.speaker_border;
  if (audio || video) {
    if (f.compose_out_s3 && f.compose_out_path)
      usage_error("give --compose-out-s3 or --compose-out-path, not both");
    if (!f.compose_out_s3 && !f.compose_out_path)
      usage_error("composing needs --compose-out-s3 <COMPOSE_OUT_S3> or --compose-out-path <COMPOSE_OUT_PATH>");
    roomrec::ComposeOptions c;
    c.audio = audio;
    c.video = video;
    c.output = f.compose_out_s3 ? *f.compose_out_s3 : *f.compose_out_path;
    if (f.size) {
      auto x = f.size->find('x');
      if (x == std::string::npos) usage_error("--compose-size must look like 1280x720, got '" + *f.size + "'");
      c.width = parse_uint("--compose-size width", std::string_view(*f.size).substr(0, x));
      c.height = parse_uint("--compose-size height", std::string_view(*f.size).substr(x + 1));
    }
    if (f.fps) c.fps = parse_uint("--compose-fps", *f.fps);
    if (f.video_bitrate) c.video_bitrate = parse_bitrate("--compose-video-bitrate", *f.video_bitrate);
    if (f.audio_bitrate) c.audio_bitrate = parse_bitrate("--compose-audio-bitrate", *f.audio_bitrate);
    if (f.codec) c.video_codec = *f.codec;
    if (f.audio_codec) c.audio_codec = *f.audio_codec;
    if (f.thumbnails) c.thumbnail_interval_s = parse_uint("--compose-thumbnails", *f.thumbnails);
    if (f.layout) c.layout = read_layout(*f.layout);
    if (f.speaker_hold) c.speaker_hold_ms = parse_uint("--compose-speaker-hold", *f.speaker_hold);
    if (f.speaker_lead) c.speaker_lead_ms = parse_uint("--compose-speaker-lead", *f.speaker_lead);
    c.names = f.names.value_or(false);
    c.speaker_border = f.speaker_border.value_or(false);
    if (threads) c.threads = threads;
    if (f.pause_mode) c.pause_mode = *f.pause_mode;
    job.compose = std::move(c);
  } else if (f.compose_out_s3 || f.compose_out_path) {
    usage_error("a compose destination was given without --compose-audio or --compose-video");
  } else if (compose_opts) {
    usage_error("composer options were given without --compose-audio or --compose-video");
  }
  if (f.participants.value_or(false)) {
    if (f.participants_out_s3 && f.participants_out_path)
      usage_error("give --participants-out-s3 or --participants-out-path, not both");
    if (!f.participants_out_s3 && !f.participants_out_path)
      usage_error("--participants needs --participants-out-s3 <URI> or --participants-out-path <DIR>");
    job.participants.emplace();
    job.participants->output = f.participants_out_s3 ? *f.participants_out_s3 : *f.participants_out_path;
    job.participants->speaker_audio = f.participants_speaker_audio.value_or(true);
    job.participants->multichannel = f.participants_multichannel.value_or(false);
    job.participants->threads = threads;
  } else if (f.participants_out_s3 || f.participants_out_path || f.participants_speaker_audio ||
             f.participants_multichannel) {
    usage_error("participant options were given without --participants");
  }
  if (!job.transmux && !job.compose && !job.participants)
    usage_error("nothing to do: give --transmux, --compose-audio/--compose-video and/or --participants");
  job.selection.include_peers = split_names(f.include_peers);
  job.selection.exclude_peers = split_names(f.exclude_peers);
  job.selection.exclude_tracks = split_names(f.exclude_tracks);
  return job;
}

// Progress on stderr: a bar redrawn in place on a terminal, a line per 10% otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

  void operator()(const roomrec::ConvertProgress& p) {
    if (quiet_) return;
    int percent = static_cast<int>(p.fraction * 100.0);
    if (tty_) {
      if (percent == last_percent_ && p.phase == last_phase_) return;
      constexpr int kWidth = 30;
      int filled = percent * kWidth / 100;
      std::fprintf(stderr, "\r[%.*s%.*s] %3d%% %-8s %7.1f/%.1f s", filled, "##############################",
                   kWidth - filled, "..............................", percent, p.phase, p.done_ms / 1000.0,
                   p.total_ms / 1000.0);
      std::fflush(stderr);
      drawn_ = true;
    } else {
      int step = percent / 10 * 10;
      if (step == last_percent_ && p.phase == last_phase_) return;
      percent = step;
      std::fprintf(stderr, "progress %d%% (%s %.1f/%.1f s)\n", step, p.phase, p.done_ms / 1000.0,
                   p.total_ms / 1000.0);
    }
    last_percent_ = percent;
    last_phase_ = p.phase;
  }

  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool quiet_, tty_;
  bool drawn_ = false;
  int last_percent_ = -1;
  std::string last_phase_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  roomrec::ConvertJob job;
  try {
    switch (parse(argc, argv, flags)) {
      case Action::help:
        std::fputs(kUsage, stdout);
        std::fputs(kExtra, stdout);
        return 0;
      case Action::version:
        std::printf("convert_record_cli %s\n", ROOMREC_VERSION_STRING);
        return 0;
      case Action::run:
        break;
    }
    job = build_job(flags);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "convert_record_cli: error: %s\n\nFor more information, try '--help'.\n", e.message.c_str());
    return 2;
  }
  if (roomrec::Status s = roomrec::validate(job); !s) {
    std::fprintf(stderr, "convert_record_cli: error: %s\n", s.message().c_str());
    return 2;
  }

  // Library warnings (damaged chunks, retries) go to stderr, one line each.
  roomrec::set_log_callback(
      [](roomrec::LogLevel, std::string_view component, std::string_view msg) {
        const std::string text = roomrec::util::printable_text(msg);  // one line, whatever a peer wrote
        std::fprintf(stderr, "convert_record_cli: %.*s: %s\n", static_cast<int>(component.size()),
                     component.data(), text.c_str());
      },
      roomrec::LogLevel::warn);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  ProgressPrinter printer(flags.quiet);
  job.progress = [&](const roomrec::ConvertProgress& p) { printer(p); };
  job.cancel = &g_cancel;

  auto result = roomrec::convert(job);
  printer.finish();
  if (!result) {
    if (result.status().code() == roomrec::ErrorCode::cancelled) {
      std::fprintf(stderr, "convert_record_cli: interrupted\n");
      return 130;
    }
    std::fprintf(stderr, "convert_record_cli: error: %s\n", result.status().to_string().c_str());
    return 1;
  }
  for (const auto& p : result->problems) std::fprintf(stderr, "convert_record_cli: warning: %s\n", p.c_str());
  std::string out = result->to_json(2);
  out.push_back('\n');
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "convert_record_cli: error: cannot write the result: %s\n", std::strerror(errno));
    return 1;
  }
  // Every output asked for came out empty (every chunk unreadable, say): a failure, not a success
  // (issue 21 item 15). The result above still says what was found.
  const bool transmux_empty = result->transmux && result->transmux->files.empty() && result->transmux->data_files.empty();
  const bool compose_empty = result->compose && result->compose->source_frames == 0;
  bool participants_empty = result->participants.has_value();
  if (result->participants)
    for (const auto& f : result->participants->files) participants_empty = participants_empty && f.kind != "av";
  if ((!result->transmux || transmux_empty) && (!result->compose || compose_empty) &&
      (!result->participants || participants_empty)) {
    std::fprintf(stderr, "convert_record_cli: error: nothing could be converted (%zu problems, listed above)\n",
                 result->problems.size());
    return 1;
  }
  return 0;
}
