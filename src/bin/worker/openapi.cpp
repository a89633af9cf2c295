// The OpenAPI 3 document of convert_record_worker's API, served at /api/spec.
// Written by hand next to api.cpp/job.cpp: keep the three in step.
#include <roomrec/version.h>

#include "worker/api.h"

namespace roomrec::worker {

const std::string& openapi_document() {
  static const std::string doc = [] {
    auto j = nlohmann::ordered_json::parse(R"JSON({
  "openapi": "3.0.3",
  "info": {
    "title": "roomrec convert_record_worker",
    "description": "Queues conversion jobs of recorded rooms: transmux into one file per track with a summary.json, compose into one WebM. Each job fires Compose hooks (Started, Completed, Failed) to the app's hook endpoint.",
    "version": ""
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer",
                 "description": "The worker's secret (any app; the app is the first component of record_path) or an apps-file token (its app only)."}
    },
    "schemas": {
      "Error": {
        "type": "object", "required": ["status", "error"],
        "properties": {"status": {"type": "boolean", "enum": [false]}, "error": {"type": "string"}}
      },
      "JobRequest": {
        "type": "object", "required": ["record_path"], "additionalProperties": false,
        "description": "At least one of transmux, compose and participants.",
        "properties": {
          "record_path": {"type": "string", "example": "app_id/room_uuid/1731132577000",
                          "description": "{app}/{room}/{room_record_id}, relative to the worker's input root; segments of letters, digits and ._~=@,:- only, no '.' or '..'."},
          "transmux": {
            "type": "object", "nullable": true, "additionalProperties": false,
            "properties": {"custom_s3": {"type": "string", "description": "S3 URI of the output prefix (http(s)://KEY:SECRET@host:port/bucket/prefix?path_style=true). Default: {transmux root}/{app}/transmux/{yyyy}/{mm}/{dd}/{job_id}/"},
                           "speakers": {"type": "boolean", "default": false, "description": "who spoke when: speakers.json beside summary.json"},
                           "format": {"type": "string", "enum": ["auto", "webm", "mkv", "mp4"], "default": "auto", "description": "container of the files (frames copied, never transcoded). auto: mp4 for H264 and AV1, webm for VP8, VP9 and Opus. mp4: H264, AV1 and Opus in MP4 (VP8/VP9 then go to webm). webm: VP8, VP9, AV1, Opus (H264 then goes to mkv). mkv: everything. A track that cannot go into the asked container is written in the nearest one that can and listed in problems; each file says its container."},
                           "mp4_mode": {"type": "string", "enum": ["faststart", "fragmented"], "default": "faststart", "description": "MP4 files: the index at the front, or fragmented MP4 written as it goes (a cut conversion leaves a playable prefix)"},
                           "pause_mode": {"type": "string", "enum": ["keep", "cut"], "default": "cut", "description": "recording pauses: keep the paused time as a gap on the room timeline (Opus gets silence, video holds), or cut it out of each file; one file per track either way"}}
          },
          "compose": {
            "type": "object", "nullable": true, "additionalProperties": false,
            "properties": {
              "audio": {"type": "boolean", "default": true},
              "video": {"type": "boolean", "default": true},
              "custom_s3": {"type": "string", "description": "S3 URI of the output object or a presigned PUT URL. Default: {compose root}/{app}/compose/{yyyy}/{mm}/{dd}/{job_id}.webm, or .mp4 for an MP4 compose"},
              "width": {"type": "integer", "minimum": 16, "maximum": 7680, "default": 1280, "description": "even"},
              "height": {"type": "integer", "minimum": 16, "maximum": 4320, "default": 720, "description": "even"},
              "fps": {"type": "integer", "minimum": 1, "maximum": 120, "default": 15},
              "video_codec": {"type": "string", "enum": ["vp8", "vp9", "h264"], "default": "vp8", "description": "vp8/vp9: WebM; h264 (OpenH264): MP4 with the index at the front"},
              "audio_codec": {"type": "string", "enum": ["opus", "aac"], "description": "default aac with video_codec h264, else opus; aac (FFmpeg's encoder) makes an MP4 (with video: needs video_codec h264)"},
              "video_bitrate": {"type": "integer", "minimum": 50000, "maximum": 50000000, "default": 1500000, "description": "bit/s"},
              "audio_bitrate": {"type": "integer", "minimum": 6000, "maximum": 510000, "default": 64000, "description": "bit/s"},
              "layout": {"oneOf": [{"type": "string", "enum": ["grid", "speaker", "single-speaker", "presentation"]},
                                   {"$ref": "#/components/schemas/CustomLayout"}],
                         "default": "grid",
                         "description": "grid: every camera in a grid; speaker: the active speaker large, the others in a strip; single-speaker: only the active speaker; presentation: a screen share (a video track whose name contains 'screen') large, the cameras in a strip; or a custom layout"},
              "speaker_hold_ms": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 2000, "description": "the active speaker stays at least this long"},
              "speaker_lead_ms": {"type": "integer", "minimum": 0, "maximum": 5000, "default": 300, "description": "a switch comes this far ahead of the voice"},
              "names": {"type": "boolean", "default": false, "description": "each tile shows its peer's name"},
              "speaker_border": {"type": "boolean", "default": false, "description": "a yellow frame around the active speaker's tile"},
              "pause_mode": {"type": "string", "enum": ["keep", "cut"], "default": "cut", "description": "recording pauses: a paused peer is silent and leaves the grid either way; cut takes out the times when every peer present is paused"},
              "thumbnail_interval_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 0, "description": "a JPEG every N seconds of the composed video, a sprite sheet and a WebVTT track in {compose output without its extension}-thumbnails/ (0: none); the result's compose.thumbnails_vtt and the Completed hook's outputs say where"}
            }
          },
          "selection": {
            "type": "object", "nullable": true, "additionalProperties": false,
            "description": "Consent: which peers and tracks go into the outputs; the others appear in no file, mix, summary or problem line. Names as summary.json spells them.",
            "properties": {
              "include_peers": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "only these peers (default: all)"},
              "exclude_peers": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "never these peers (none may also be in include_peers)"},
              "exclude_tracks": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "\"peer/track\" for one peer's track, \"track\" (e.g. video_main) for that track of every peer"}
            }
          },
          "participants": {
            "type": "object", "nullable": true, "additionalProperties": false,
            "description": "One file per participant on the room's timeline: {peer}.webm (audio+video of all its sessions joined, gaps filled with silence and a held or black frame; video remuxed, or re-encoded when sizes or codecs differ across sessions). Into {transmux root}/{app}/participants/{yyyy}/{mm}/{dd}/{job_id}/.",
            "properties": {
              "speaker_audio": {"type": "boolean", "default": true, "description": "{peer}-audio.webm: each peer's audio alone (Opus)"},
              "multichannel": {"type": "boolean", "default": false, "description": "speakers-multichannel.wav: 16 kHz 16-bit PCM, one channel per peer (result.participants.channels maps them)"}
            }
          }
        }
      },
      "CustomLayout": {
        "type": "object", "additionalProperties": false,
        "description": "Regions of the frame and changes at times. Give either layout (a built-in name) or regions.",
        "properties": {
          "layout": {"type": "string", "enum": ["grid", "speaker", "single-speaker", "presentation"]},
          "regions": {"type": "array", "minItems": 1, "maxItems": 64, "items": {"$ref": "#/components/schemas/LayoutRegion"}},
          "changes": {"type": "array", "maxItems": 10000, "items": {
            "type": "object", "additionalProperties": false, "required": ["at"],
            "properties": {
              "at": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "example": "10:02"}], "description": "from the recording's start: seconds, or [h:]mm:ss[.fff]; in time order"},
              "layout": {"type": "string", "enum": ["grid", "speaker", "single-speaker", "presentation"]},
              "regions": {"type": "array", "minItems": 1, "maxItems": 64, "items": {"$ref": "#/components/schemas/LayoutRegion"}}
            }}}
        }
      },
      "LayoutRegion": {
        "type": "object", "additionalProperties": false,
        "description": "Fractions of the frame (x + w <= 1, y + h <= 1); either role or peer.",
        "properties": {
          "x": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
          "y": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
          "w": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": true, "default": 1},
          "h": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": true, "default": 1},
          "z": {"type": "integer", "minimum": -100, "maximum": 100, "default": 0, "description": "higher on top"},
          "role": {"type": "string", "enum": ["speaker", "screen", "others"]},
          "peer": {"type": "string", "description": "a peer id: that peer's camera"}
        }
      },
      "JobAccepted": {
        "type": "object", "required": ["status", "data"],
        "properties": {
          "status": {"type": "boolean", "enum": [true]},
          "data": {"type": "object", "required": ["job_id"], "properties": {"job_id": {"type": "string", "example": "job_0123456789abcdef01234567"}}}
        }
      },
      "Job": {
        "type": "object",
        "required": ["job_id", "app", "record_path", "transmux", "compose", "participants", "state", "progress", "attempts", "accepted_ms", "started_ms", "finished_ms", "result", "error"],
        "properties": {
          "job_id": {"type": "string"},
          "app": {"type": "string"},
          "record_path": {"type": "string"},
          "transmux": {"type": "boolean", "description": "the job transmuxes"},
          "compose": {"type": "boolean", "description": "the job composes"},
          "participants": {"type": "boolean", "description": "the job makes one file per participant"},
          "state": {"type": "string", "enum": ["queued", "running", "completed", "failed"]},
          "progress": {"type": "number", "minimum": 0, "maximum": 1},
          "attempts": {"type": "integer", "description": "conversions started (more than 1 after a restart or a takeover)"},
          "accepted_ms": {"type": "integer", "description": "unix ms"},
          "started_ms": {"type": "integer", "nullable": true},
          "finished_ms": {"type": "integer", "nullable": true},
          "result": {
            "type": "object", "nullable": true,
            "description": "When completed: {input, app, room, room_record_id, transmux: {duration_ms, files[], summary} | null, compose: {media_uri, duration_ms} | null, participants: {start, end, duration_ms, files[{path, uri, kind, peer, sessions, video: remuxed|reencoded|none, video_reason, ...}], channels[{channel, peer}]} | null, problems[]}",
            "properties": {
              "input": {"type": "string"}, "app": {"type": "string"}, "room": {"type": "string"},
              "room_record_id": {"type": "string"},
              "transmux": {"type": "object", "nullable": true},
              "compose": {"type": "object", "nullable": true,
                          "properties": {"media_uri": {"type": "string"}, "duration_ms": {"type": "integer"}}},
              "participants": {"type": "object", "nullable": true},
              "problems": {"type": "array", "items": {"type": "string"}}
            }
          },
          "error": {"type": "string", "nullable": true, "description": "when failed"}
        }
      }
    },
    "responses": {
      "BadRequest": {"description": "Invalid JSON, none of transmux, compose and participants, bad record_path, bad S3 URI or option", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "Missing or wrong bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "record_path outside the token's app", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such job, another app's, or one finished longer ago than --job-retention-seconds", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "Request body over the limit (64 KiB)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooManyQueued": {"description": "Too many jobs queued (all apps, or this app); Retry-After says when to try again", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "ShuttingDown": {"description": "The worker is shutting down, or (with --queue) the shared job queue's Redis is unreachable: try again later", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "InternalError": {"description": "The job could not be saved", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "paths": {
    "/api/convert/job": {
      "post": {
        "summary": "Submit a conversion job",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}}},
        "responses": {
          "200": {"description": "Accepted and queued; a Compose Started hook is sent", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobAccepted"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "429": {"$ref": "#/components/responses/TooManyQueued"},
          "500": {"$ref": "#/components/responses/InternalError"},
          "503": {"$ref": "#/components/responses/ShuttingDown"}
        }
      }
    },
    "/api/convert/job/{job_id}": {
      "get": {
        "summary": "A job's state, progress, result or error",
        "security": [{"bearer": []}],
        "parameters": [{"name": "job_id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The job", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status", "data"],
            "properties": {"status": {"type": "boolean", "enum": [true]}, "data": {"$ref": "#/components/schemas/Job"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "503": {"$ref": "#/components/responses/ShuttingDown"}
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness: 200 while serving, 503 once shutting down",
        "responses": {
          "200": {"description": "Serving", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "boolean"}, "data": {"type": "object", "properties": {"state": {"type": "string", "enum": ["ok"]}, "queue": {"type": "string", "description": "with --queue: redis: up | redis: unreachable"}}}}}}}},
          "503": {"$ref": "#/components/responses/ShuttingDown"}
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics (text format 0.0.4): jobs by state, conversion seconds, media seconds, hook deliveries and failures, HTTP answers by code",
        "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/api/spec": {
      "get": {
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3 JSON", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  }
})JSON");
    j["info"]["version"] = ROOMREC_VERSION_STRING;
    return j.dump(2);
  }();
  return doc;
}

}  // namespace roomrec::worker
