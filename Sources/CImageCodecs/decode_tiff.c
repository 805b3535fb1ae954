// TIFF through libtiff (first directory), mapped to the modes Pillow's TIFF plugin
// gives: min-is-black/white 1/2/4/8-bit -> L (scaled, inverted for min-is-white),
// 16-bit grey -> I;16, RGB(A) 8/16-bit (high byte kept; associated alpha
// un-premultiplied as Pillow's "RGBa" unpacker does), palette -> P (16-bit colour
// map divided by 256), CMYK 8/16-bit, YCbCr as RGB (JPEG-compressed via libtiff's
// RGB colour mode, otherwise libtiff's RGBA reader). Anything else is reported as
// unsupported. Errors are collected per file through libtiff's open options, so
// no process-wide handler is installed.
#include "codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

typedef struct tiff_source {
    const uint8_t *data;
    toff_t size;
    toff_t offset;
    bool failed;
    char message[200];
} tiff_source;

static tmsize_t on_read(thandle_t handle, void *destination, tmsize_t length) {
    tiff_source *source = (tiff_source *)handle;
    if (length <= 0 || source->offset >= source->size) {
        return 0;
    }
    toff_t available = source->size - source->offset;
    toff_t count = (toff_t)length < available ? (toff_t)length : available;
    memcpy(destination, source->data + source->offset, (size_t)count);
    source->offset += count;
    return (tmsize_t)count;
}

static tmsize_t on_write(thandle_t handle, void *bytes, tmsize_t length) {
    (void)handle;
    (void)bytes;
    (void)length;
    return -1;
}

static toff_t on_seek(thandle_t handle, toff_t offset, int whence) {
    tiff_source *source = (tiff_source *)handle;
    toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? source->offset : source->size;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) {
        return (toff_t)-1;
    }
    source->offset = base + offset; // past the end is allowed; reads there return nothing
    return source->offset;
}

static int on_close(thandle_t handle) {
    (void)handle;
    return 0;
}

static toff_t on_size(thandle_t handle) {
    return ((tiff_source *)handle)->size;
}

static int on_map(thandle_t handle, void **base, toff_t *size) {
    (void)handle;
    (void)base;
    (void)size;
    return 0; // no mapping: libtiff then reads through on_read
}

static void on_unmap(thandle_t handle, void *base, toff_t size) {
    (void)handle;
    (void)base;
    (void)size;
}

static int on_error(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff;
    tiff_source *source = user;
    if (!source->failed) {
        char text[160];
        vsnprintf(text, sizeof text, format, arguments);
        snprintf(source->message, sizeof source->message, "%s: %s", module != NULL ? module : "libtiff", text);
    }
    source->failed = true;
    return 1;
}

static int on_warning(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff;
    (void)user;
    (void)module;
    (void)format;
    (void)arguments;
    return 1;
}

/// How a decoded row of samples becomes pixels of the output mode.
typedef enum unpack_kind {
    UNPACK_GREY,           // bps 1/2/4/8, first sample of each pixel
    UNPACK_GREY_ALPHA,     // 8-bit grey + straight alpha
    UNPACK_GREY16,         // native uint16, first sample
    UNPACK_COLOUR8,        // 3 or 4 output channels from 8-bit samples
    UNPACK_COLOUR16,       // 3 or 4 output channels from 16-bit samples (high byte)
    UNPACK_INDEX,          // bps 1/2/4/8 palette index
    UNPACK_INDEX_ALPHA,    // 8-bit index + alpha
} unpack_kind;

typedef struct tiff_plan {
    unpack_kind kind;
    ic_mode mode;
    uint16_t bits;
    uint16_t samples;       // samples per pixel in the file
    bool invert;            // min-is-white
    bool premultiplied;     // associated alpha
    bool via_rgba;          // decode with TIFFReadRGBAImageOriented
} tiff_plan;

static uint8_t clip8(int value) {
    return (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
}

static unsigned read_bits(const uint8_t *row, size_t index, unsigned bits) {
    size_t bit = index * bits;
    unsigned byte = row[bit >> 3];
    unsigned shift = 8 - bits - (unsigned)(bit & 7);
    return (byte >> shift) & ((1u << bits) - 1);
}

static void unpack_row(const tiff_plan *plan, const uint8_t *source, uint32_t count, uint8_t *target) {
    switch (plan->kind) {
    case UNPACK_GREY: {
        unsigned scale = plan->bits == 1 ? 255 : plan->bits == 2 ? 85 : plan->bits == 4 ? 17 : 1;
        for (uint32_t x = 0; x < count; x++) {
            unsigned value = read_bits(source, (size_t)x * plan->samples, plan->bits) * scale;
            target[x] = (uint8_t)(plan->invert ? 255 - value : value);
        }
        break;
    }
    case UNPACK_GREY_ALPHA:
        for (uint32_t x = 0; x < count; x++) {
            target[x * 2 + 0] = source[(size_t)x * plan->samples + 0];
            target[x * 2 + 1] = source[(size_t)x * plan->samples + 1];
        }
        break;
    case UNPACK_GREY16: {
        const uint16_t *samples = (const uint16_t *)(const void *)source;
        uint16_t *pixels = (uint16_t *)(void *)target;
        for (uint32_t x = 0; x < count; x++) {
            pixels[x] = samples[(size_t)x * plan->samples];
        }
        break;
    }
    case UNPACK_COLOUR8:
    case UNPACK_COLOUR16: {
        unsigned channels = ic_mode_bytes(plan->mode);
        for (uint32_t x = 0; x < count; x++) {
            uint8_t value[4];
            for (unsigned c = 0; c < channels; c++) {
                size_t index = (size_t)x * plan->samples + c;
                value[c] = plan->kind == UNPACK_COLOUR8 ? source[index]
                                                        : (uint8_t)(((const uint16_t *)(const void *)source)[index] >> 8);
            }
            if (plan->premultiplied) {
                // Pillow's "RGBa" unpacker: zero alpha gives all zeros, opaque is
                // kept, otherwise each colour is scaled back by 255 / alpha.
                int alpha = value[3];
                if (alpha == 0) {
                    memset(value, 0, 4);
                } else if (alpha != 255) {
                    for (unsigned c = 0; c < 3; c++) {
                        value[c] = clip8(value[c] * 255 / alpha);
                    }
                }
            }
            memcpy(target + (size_t)x * channels, value, channels);
        }
        break;
    }
    case UNPACK_INDEX:
        for (uint32_t x = 0; x < count; x++) {
            target[x] = (uint8_t)read_bits(source, (size_t)x * plan->samples, plan->bits);
        }
        break;
    case UNPACK_INDEX_ALPHA:
        for (uint32_t x = 0; x < count; x++) {
            target[x * 2 + 0] = source[(size_t)x * plan->samples + 0];
            target[x * 2 + 1] = source[(size_t)x * plan->samples + 1];
        }
        break;
    }
}

/// Chooses the output mode from the tags, following Pillow's OPEN_INFO table.
static ic_status make_plan(TIFF *tiff, tiff_plan *plan, ic_error *error) {
    uint16_t bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG;
    uint16_t format = SAMPLEFORMAT_UINT, compression = COMPRESSION_NONE, extra_count = 0;
    uint16_t *extra = NULL;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tiff, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    if (!TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric)) {
        photometric = PHOTOMETRIC_MINISWHITE; // Pillow's default when the tag is missing
    }
    memset(plan, 0, sizeof *plan);
    plan->bits = bits;
    plan->samples = samples;
    int first_extra = extra_count > 0 && extra != NULL ? extra[0] : -1;
    if (format != SAMPLEFORMAT_UINT) {
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "TIFF: sample format %u", format);
    }
    if (planar != PLANARCONFIG_CONTIG && samples > 1) {
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "TIFF: separate colour planes");
    }
    switch (photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
        if (bits == 16 && samples == 1) {
            // Pillow reads 16-bit min-is-white without inverting it ("I;16").
            plan->kind = UNPACK_GREY16;
            plan->mode = IC_MODE_I16;
            return IC_OK;
        }
        if ((bits == 1 || bits == 2 || bits == 4 || bits == 8) && samples == 1) {
            plan->kind = UNPACK_GREY;
            plan->mode = IC_MODE_L;
            plan->invert = photometric == PHOTOMETRIC_MINISWHITE;
            return IC_OK;
        }
        if (bits == 8 && samples == 2 && photometric == PHOTOMETRIC_MINISBLACK && (first_extra == 0 || first_extra == 2)) {
            plan->kind = first_extra == 2 ? UNPACK_GREY_ALPHA : UNPACK_GREY;
            plan->mode = first_extra == 2 ? IC_MODE_LA : IC_MODE_L;
            return IC_OK;
        }
        break;
    case PHOTOMETRIC_RGB:
        if ((bits == 8 || bits == 16) && samples >= 3 && samples <= 6) {
            plan->kind = bits == 8 ? UNPACK_COLOUR8 : UNPACK_COLOUR16;
            if (samples == 3) {
                plan->mode = IC_MODE_RGB;
                return IC_OK;
            }
            if (first_extra == 0) {
                plan->mode = IC_MODE_RGB;
                return IC_OK;
            }
            if (first_extra == 1 || first_extra == 2 || first_extra == 999 || (first_extra < 0 && samples == 4)) {
                plan->mode = IC_MODE_RGBA;
                plan->premultiplied = first_extra == 1;
                return IC_OK;
            }
        }
        break;
    case PHOTOMETRIC_PALETTE:
        if ((bits == 1 || bits == 2 || bits == 4 || bits == 8) && samples == 1) {
            plan->kind = UNPACK_INDEX;
            plan->mode = IC_MODE_P;
            return IC_OK;
        }
        if (bits == 8 && samples == 2 && (first_extra == 0 || first_extra == 2)) {
            plan->kind = first_extra == 2 ? UNPACK_INDEX_ALPHA : UNPACK_INDEX;
            plan->mode = first_extra == 2 ? IC_MODE_PA : IC_MODE_P;
            return IC_OK;
        }
        break;
    case PHOTOMETRIC_SEPARATED: {
        uint16_t inks = INKSET_CMYK;
        TIFFGetFieldDefaulted(tiff, TIFFTAG_INKSET, &inks);
        if (inks == INKSET_CMYK && (bits == 8 || bits == 16) && samples >= 4 && samples <= 6 &&
            (samples == 4 || first_extra == 0)) {
            plan->kind = bits == 8 ? UNPACK_COLOUR8 : UNPACK_COLOUR16;
            plan->mode = IC_MODE_CMYK;
            return IC_OK;
        }
        break;
    }
    case PHOTOMETRIC_YCBCR:
        if (bits == 8 && samples == 1) {
            plan->kind = UNPACK_GREY;
            plan->mode = IC_MODE_L;
            return IC_OK;
        }
        if (bits == 8 && samples == 3) {
            if (compression == COMPRESSION_JPEG) {
                // libjpeg upsamples and converts; rows then hold RGB triplets.
                TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
                plan->kind = UNPACK_COLOUR8;
                plan->mode = IC_MODE_RGB;
                return IC_OK;
            }
            plan->via_rgba = true;
            plan->mode = IC_MODE_RGB;
            return IC_OK;
        }
        break;
    default:
        break;
    }
    return ic_fail(error, IC_ERROR_UNSUPPORTED, "TIFF: photometric %u with %u samples of %u bits", photometric,
                   samples, bits);
}

static void load_palette(TIFF *tiff, const tiff_plan *plan, ic_image *out) {
    uint16_t *red = NULL, *green = NULL, *blue = NULL;
    if (!TIFFGetField(tiff, TIFFTAG_COLORMAP, &red, &green, &blue) || red == NULL || green == NULL || blue == NULL) {
        return;
    }
    uint32_t entries = 1u << plan->bits;
    for (uint32_t i = 0; i < entries && i < 256; i++) {
        out->palette[i * 3 + 0] = (uint8_t)(red[i] >> 8);
        out->palette[i * 3 + 1] = (uint8_t)(green[i] >> 8);
        out->palette[i * 3 + 2] = (uint8_t)(blue[i] >> 8);
    }
    out->palette_entries = entries > 256 ? 256 : entries;
}

static bool read_strips(TIFF *tiff, const tiff_plan *plan, ic_image *out) {
    tmsize_t line = TIFFScanlineSize(tiff);
    tmsize_t strip_size = TIFFStripSize(tiff);
    uint32_t rows_per_strip = out->height;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    if (rows_per_strip == 0 || rows_per_strip > out->height) {
        rows_per_strip = out->height;
    }
    if (line <= 0 || strip_size <= 0 || (uint64_t)strip_size < (uint64_t)line * rows_per_strip) {
        return false;
    }
    uint8_t *buffer = malloc((size_t)strip_size);
    if (buffer == NULL) {
        return false;
    }
    size_t stride = (size_t)out->width * out->bytes_per_pixel;
    bool complete = true;
    for (uint32_t top = 0; top < out->height && complete; top += rows_per_strip) {
        uint32_t rows = out->height - top < rows_per_strip ? out->height - top : rows_per_strip;
        tmsize_t got = TIFFReadEncodedStrip(tiff, TIFFComputeStrip(tiff, top, 0), buffer, (tmsize_t)line * rows);
        if (got < (tmsize_t)line * rows) {
            complete = false;
            break;
        }
        for (uint32_t r = 0; r < rows; r++) {
            unpack_row(plan, buffer + (size_t)r * (size_t)line, out->width, out->pixels + (size_t)(top + r) * stride);
        }
    }
    free(buffer);
    return complete;
}

static bool read_tiles(TIFF *tiff, const tiff_plan *plan, ic_image *out, uint64_t max_pixels) {
    uint32_t tile_width = 0, tile_height = 0;
    TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &tile_width);
    TIFFGetField(tiff, TIFFTAG_TILELENGTH, &tile_height);
    // A tiny image may declare enormous tiles; refuse those before allocating.
    if (tile_width == 0 || tile_height == 0 || (uint64_t)tile_width * tile_height > max_pixels + (1u << 20)) {
        return false;
    }
    tmsize_t row_size = TIFFTileRowSize(tiff);
    tmsize_t tile_size = TIFFTileSize(tiff);
    if (row_size <= 0 || tile_size <= 0 || (uint64_t)tile_size < (uint64_t)row_size * tile_height) {
        return false;
    }
    // Bounded in bytes too: a tile (pixels x samples x bits) may not be larger than the
    // image's own raw data plus 16 MiB, so few-pixel tiles of many wide samples cannot
    // buy gigabytes. A tile padding a small image stays well inside the slack.
    tmsize_t line = TIFFScanlineSize(tiff);
    uint64_t image_bytes = line > 0 ? (uint64_t)line * out->height : 0;
    if ((uint64_t)tile_size > image_bytes + (16u << 20)) {
        tiff_source *source = (tiff_source *)TIFFClientdata(tiff);
        snprintf(source->message, sizeof source->message, "a tile of %lld bytes for a %ux%u image is over the budget",
                 (long long)tile_size, out->width, out->height);
        source->failed = true;
        return false;
    }
    uint8_t *buffer = malloc((size_t)tile_size);
    if (buffer == NULL) {
        return false;
    }
    size_t stride = (size_t)out->width * out->bytes_per_pixel;
    bool complete = true;
    for (uint32_t top = 0; top < out->height && complete; top += tile_height) {
        for (uint32_t left = 0; left < out->width; left += tile_width) {
            if (TIFFReadTile(tiff, buffer, left, top, 0, 0) < tile_size) {
                complete = false;
                break;
            }
            uint32_t rows = out->height - top < tile_height ? out->height - top : tile_height;
            uint32_t columns = out->width - left < tile_width ? out->width - left : tile_width;
            for (uint32_t r = 0; r < rows; r++) {
                uint8_t *target = out->pixels + (size_t)(top + r) * stride + (size_t)left * out->bytes_per_pixel;
                unpack_row(plan, buffer + (size_t)r * (size_t)row_size, columns, target);
            }
        }
    }
    free(buffer);
    return complete;
}

static bool read_rgba(TIFF *tiff, ic_image *out) {
    size_t count = (size_t)out->width * out->height;
    uint32_t *raster = malloc(count * sizeof(uint32_t));
    if (raster == NULL) {
        return false;
    }
    bool complete = TIFFReadRGBAImageOriented(tiff, out->width, out->height, raster, ORIENTATION_TOPLEFT, 0) != 0;
    if (complete) {
        for (size_t i = 0; i < count; i++) {
            out->pixels[i * 3 + 0] = (uint8_t)TIFFGetR(raster[i]);
            out->pixels[i * 3 + 1] = (uint8_t)TIFFGetG(raster[i]);
            out->pixels[i * 3 + 2] = (uint8_t)TIFFGetB(raster[i]);
        }
    }
    free(raster);
    return complete;
}

/// Width and height from the first directory, read directly: libtiff refuses a
/// zero-sized directory with a generic error, and the size must be checked first.
static bool peek_size(const uint8_t *data, size_t size, uint64_t *width, uint64_t *height) {
    bool big = data[0] == 'M';
    uint64_t offset = big ? ((uint64_t)data[4] << 24 | (uint64_t)data[5] << 16 | (uint64_t)data[6] << 8 | data[7])
                          : ((uint64_t)data[7] << 24 | (uint64_t)data[6] << 16 | (uint64_t)data[5] << 8 | data[4]);
    if (offset + 2 > size) {
        return false;
    }
#define TIFF_U16(p) (big ? (uint32_t)((p)[0] << 8 | (p)[1]) : (uint32_t)((p)[1] << 8 | (p)[0]))
#define TIFF_U32(p) (big ? ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (p)[3]) \
                         : ((uint32_t)(p)[3] << 24 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[1] << 8 | (p)[0]))
    uint32_t entries = TIFF_U16(data + offset);
    bool have_width = false, have_height = false;
    for (uint32_t i = 0; i < entries; i++) {
        uint64_t at = offset + 2 + 12 * (uint64_t)i;
        if (at + 12 > size) {
            break;
        }
        const uint8_t *entry = data + at;
        uint32_t tag = TIFF_U16(entry), type = TIFF_U16(entry + 2);
        if (tag != TIFFTAG_IMAGEWIDTH && tag != TIFFTAG_IMAGELENGTH) {
            continue;
        }
        uint64_t value = type == TIFF_SHORT ? TIFF_U16(entry + 8) : TIFF_U32(entry + 8);
        if (tag == TIFFTAG_IMAGEWIDTH) {
            *width = value;
            have_width = true;
        } else {
            *height = value;
            have_height = true;
        }
    }
#undef TIFF_U16
#undef TIFF_U32
    return have_width && have_height;
}

ic_status ic_decode_tiff(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    if (size < 8 || !((data[0] == 'I' && data[1] == 'I') || (data[0] == 'M' && data[1] == 'M'))) {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a TIFF file");
    }
    uint64_t declared_width = 0, declared_height = 0;
    if (peek_size(data, size, &declared_width, &declared_height)) {
        ic_status status = ic_check_size(out, declared_width, declared_height, max_pixels, error);
        if (status != IC_OK) {
            return status;
        }
    }
    tiff_source source = {.data = data, .size = size, .offset = 0, .failed = false};
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (options == NULL) {
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "TIFF: cannot allocate options");
    }
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &source);
    // Bounds libtiff's own buffers (strips, tiles, tag arrays) by what the pixel
    // limit allows, so a small file cannot make it allocate gigabytes.
    uint64_t cap = max_pixels * 8 + (64u << 20);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, cap > (uint64_t)INT64_MAX ? INT64_MAX : (tmsize_t)cap);
    TIFF *tiff = TIFFClientOpenExt("memory", "rm", (thandle_t)&source, on_read, on_write, on_seek, on_close, on_size,
                                   on_map, on_unmap, options);
    TIFFOpenOptionsFree(options);
    if (tiff == NULL) {
        return ic_fail(error, IC_ERROR_CORRUPT, "TIFF: %s", source.failed ? source.message : "cannot open file");
    }
    uint32_t width = 0, height = 0;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
    ic_status status = ic_check_size(out, width, height, max_pixels, error);
    tiff_plan plan;
    if (status == IC_OK) {
        status = make_plan(tiff, &plan, error);
    }
    if (status == IC_OK) {
        status = ic_allocate(out, plan.mode, true, error);
    }
    if (status != IC_OK) {
        TIFFClose(tiff);
        return status;
    }
    if (plan.mode == IC_MODE_P || plan.mode == IC_MODE_PA) {
        load_palette(tiff, &plan, out);
    }
    bool complete = plan.via_rgba ? read_rgba(tiff, out)
                    : TIFFIsTiled(tiff) ? read_tiles(tiff, &plan, out, max_pixels)
                                        : read_strips(tiff, &plan, out);
    TIFFClose(tiff);
    if (!complete) {
        ic_image_free(out);
        out->width = width;
        out->height = height;
        return ic_fail(error, IC_ERROR_CORRUPT, "TIFF: %s", source.failed ? source.message : "cannot decode image data");
    }
    return IC_OK;
}
