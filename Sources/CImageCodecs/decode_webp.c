// WebP through libwebp's animation decoder (the path Pillow takes for every WebP
// file): the first frame composed on the canvas, non-premultiplied RGBA. Files
// without alpha become RGB.
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

static const char *describe(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data (truncated file)";
    default: return "error";
    }
}

ic_status ic_decode_webp(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    if (size < 12 || memcmp(data, "RIFF", 4) != 0 || memcmp(data + 8, "WEBP", 4) != 0) {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a WebP file");
    }
    // The canvas size from the headers, checked before any pixel buffer exists.
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code != VP8_STATUS_OK) {
        return ic_fail(error, code == VP8_STATUS_OUT_OF_MEMORY ? IC_ERROR_OUT_OF_MEMORY : IC_ERROR_CORRUPT,
                       "WebP: %s", describe(code));
    }
    ic_status status = ic_check_size(out, (uint64_t)features.width, (uint64_t)features.height, max_pixels, error);
    if (status != IC_OK) {
        return status;
    }
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) {
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "WebP: decoder version mismatch");
    }
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData input = {.bytes = data, .size = size};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&input, &options);
    if (decoder == NULL) {
        return ic_fail(error, IC_ERROR_CORRUPT, "WebP: cannot parse file (corrupt or truncated)");
    }
    WebPAnimInfo info;
    if (!WebPAnimDecoderGetInfo(decoder, &info) || info.canvas_width != out->width ||
        info.canvas_height != out->height) {
        WebPAnimDecoderDelete(decoder);
        return ic_fail(error, IC_ERROR_CORRUPT, "WebP: inconsistent canvas size");
    }
    uint8_t *frame = NULL;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder, &frame, &timestamp) || frame == NULL) {
        WebPAnimDecoderDelete(decoder);
        return ic_fail(error, IC_ERROR_CORRUPT, "WebP: cannot decode first frame (corrupt or truncated)");
    }
    ic_mode mode = features.has_alpha ? IC_MODE_RGBA : IC_MODE_RGB;
    status = ic_allocate(out, mode, false, error);
    if (status != IC_OK) {
        WebPAnimDecoderDelete(decoder);
        return status;
    }
    size_t count = (size_t)out->width * out->height;
    if (mode == IC_MODE_RGBA) {
        memcpy(out->pixels, frame, count * 4);
    } else {
        for (size_t i = 0; i < count; i++) {
            memcpy(out->pixels + i * 3, frame + i * 4, 3);
        }
    }
    WebPAnimDecoderDelete(decoder);
    return IC_OK;
}
