#include "media/h264_encoder.h"

#include <wels/codec_api.h>

#include <cstring>
#include <string>

namespace roomrec::media {

namespace {

// Calls fn(nal, size) for each NAL unit of an Annex B byte stream.
template <class F>
void for_each_nal(const uint8_t* p, size_t n, F fn) {
  size_t i = 0;
  auto start_code = [&](size_t at, size_t& len) {
    if (at + 3 <= n && p[at] == 0 && p[at + 1] == 0 && p[at + 2] == 1) {
      len = 3;
      return true;
    }
    if (at + 4 <= n && p[at] == 0 && p[at + 1] == 0 && p[at + 2] == 0 && p[at + 3] == 1) {
      len = 4;
      return true;
    }
    return false;
  };
  size_t len = 0;
  while (i < n && !start_code(i, len)) ++i;
  while (i < n) {
    const size_t begin = i + len;
    size_t j = begin;
    size_t next_len = 0;
    while (j < n && !start_code(j, next_len)) ++j;
    size_t end = j;
    while (end > begin && p[end - 1] == 0 && j < n) --end;  // trailing_zero_8bits before the next start code
    if (end > begin) fn(p + begin, end - begin);
    i = j;
    len = next_len;
  }
}

}  // namespace

void annexb_to_avcc(const uint8_t* p, size_t n, std::vector<uint8_t>& out) {
  for_each_nal(p, n, [&](const uint8_t* nal, size_t len) {
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(len >> (24 - 8 * k)));
    out.insert(out.end(), nal, nal + len);
  });
}

Result<std::unique_ptr<H264Encoder>> H264Encoder::create(const H264EncoderOptions& o) {
  if (o.width < 16 || o.height < 16 || (o.width | o.height) & 1 || o.fps == 0)
    return Status::error(ErrorCode::invalid_argument, "H264 encoder: bad size or frame rate");
  std::unique_ptr<H264Encoder> e(new H264Encoder());
  e->opt_ = o;
  if (WelsCreateSVCEncoder(&e->enc_) != 0 || !e->enc_)
    return Status::error(ErrorCode::internal, "cannot create the OpenH264 encoder");
  int trace = WELS_LOG_ERROR;  // OpenH264 prints its warnings to stderr otherwise
  e->enc_->SetOption(ENCODER_OPTION_TRACE_LEVEL, &trace);
  SEncParamExt p;
  e->enc_->GetDefaultParams(&p);
  p.iUsageType = CAMERA_VIDEO_REAL_TIME;
  p.iPicWidth = static_cast<int>(o.width);
  p.iPicHeight = static_cast<int>(o.height);
  p.iTargetBitrate = static_cast<int>(o.bitrate);
  p.iMaxBitrate = UNSPECIFIED_BIT_RATE;
  p.iRCMode = RC_BITRATE_MODE;
  p.fMaxFrameRate = static_cast<float>(o.fps);
  p.iTemporalLayerNum = 1;
  p.iSpatialLayerNum = 1;
  p.uiIntraPeriod = o.keyframe_interval_frames;
  p.eSpsPpsIdStrategy = CONSTANT_ID;
  p.bEnableFrameSkip = false;
  p.iEntropyCodingModeFlag = 0;
  p.iMultipleThreadIdc = static_cast<unsigned short>(o.threads ? o.threads : 1);
  p.bSimulcastAVC = false;
  p.sSpatialLayers[0].iVideoWidth = p.iPicWidth;
  p.sSpatialLayers[0].iVideoHeight = p.iPicHeight;
  p.sSpatialLayers[0].fFrameRate = p.fMaxFrameRate;
  p.sSpatialLayers[0].iSpatialBitrate = p.iTargetBitrate;
  p.sSpatialLayers[0].iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
  p.sSpatialLayers[0].uiProfileIdc = PRO_BASELINE;
  p.sSpatialLayers[0].sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
  if (e->enc_->InitializeExt(&p) != 0) return Status::error(ErrorCode::internal, "cannot start the OpenH264 encoder");
  int fmt = videoFormatI420;
  e->enc_->SetOption(ENCODER_OPTION_DATAFORMAT, &fmt);

  // The parameter sets, for avcC.
  SFrameBSInfo info;
  std::memset(&info, 0, sizeof info);
  if (e->enc_->EncodeParameterSets(&info) != 0)
    return Status::error(ErrorCode::internal, "OpenH264 gave no parameter sets");
  std::vector<uint8_t> sps, pps;
  for (int l = 0; l < info.iLayerNum; ++l) {
    const SLayerBSInfo& layer = info.sLayerInfo[l];
    size_t total = 0;
    for (int k = 0; k < layer.iNalCount; ++k) total += static_cast<size_t>(layer.pNalLengthInByte[k]);
    for_each_nal(layer.pBsBuf, total, [&](const uint8_t* nal, size_t len) {
      if ((nal[0] & 0x1F) == 7 && sps.empty()) sps.assign(nal, nal + len);
      if ((nal[0] & 0x1F) == 8 && pps.empty()) pps.assign(nal, nal + len);
    });
  }
  if (sps.size() < 4 || pps.empty() || sps.size() > 0xFFFF || pps.size() > 0xFFFF)
    return Status::error(ErrorCode::internal, "OpenH264 gave no SPS/PPS");
  auto& c = e->avcc_;
  c = {1, sps[1], sps[2], sps[3], 0xFF, 0xE1, static_cast<uint8_t>(sps.size() >> 8), static_cast<uint8_t>(sps.size())};
  c.insert(c.end(), sps.begin(), sps.end());
  c.push_back(1);
  c.push_back(static_cast<uint8_t>(pps.size() >> 8));
  c.push_back(static_cast<uint8_t>(pps.size()));
  c.insert(c.end(), pps.begin(), pps.end());
  return e;
}

H264Encoder::~H264Encoder() {
  if (enc_) {
    enc_->Uninitialize();
    WelsDestroySVCEncoder(enc_);
  }
}

Status H264Encoder::encode(const uint8_t* i420, uint64_t pts_ms, std::vector<uint8_t>& out, bool& keyframe) {
  out.clear();
  keyframe = false;
  const int w = static_cast<int>(opt_.width), h = static_cast<int>(opt_.height), cw = (w + 1) / 2, ch = (h + 1) / 2;
  SSourcePicture pic;
  std::memset(&pic, 0, sizeof pic);
  pic.iColorFormat = videoFormatI420;
  pic.iPicWidth = w;
  pic.iPicHeight = h;
  pic.iStride[0] = w;
  pic.iStride[1] = pic.iStride[2] = cw;
  pic.pData[0] = const_cast<uint8_t*>(i420);
  pic.pData[1] = pic.pData[0] + static_cast<size_t>(w) * h;
  pic.pData[2] = pic.pData[1] + static_cast<size_t>(cw) * ch;
  pic.uiTimeStamp = static_cast<long long>(pts_ms);
  SFrameBSInfo info;
  std::memset(&info, 0, sizeof info);
  if (enc_->EncodeFrame(&pic, &info) != cmResultSuccess)
    return Status::error(ErrorCode::internal, "OpenH264 encoding failed");
  if (info.eFrameType == videoFrameTypeSkip || info.eFrameType == videoFrameTypeInvalid) return Status::ok();
  keyframe = info.eFrameType == videoFrameTypeIDR;
  for (int l = 0; l < info.iLayerNum; ++l) {
    const SLayerBSInfo& layer = info.sLayerInfo[l];
    size_t total = 0;
    for (int k = 0; k < layer.iNalCount; ++k) total += static_cast<size_t>(layer.pNalLengthInByte[k]);
    annexb_to_avcc(layer.pBsBuf, total, out);
  }
  return Status::ok();
}

}  // namespace roomrec::media
