// Windows/OS2 bitmaps: uncompressed 1/4/8-bit palette images (-> P), 24-bit BGR and
// 32-bit BGRX (-> RGB, the fourth byte ignored as Pillow does for BI_RGB), and
// 32-bit BI_BITFIELDS with byte-aligned masks (-> RGB, or RGBA with an alpha mask).
// Rows are bottom-up unless the height is negative. RLE and 16-bit are unsupported.
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3 };

static uint32_t le16(const uint8_t *bytes) {
    return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8);
}

static uint32_t le32(const uint8_t *bytes) {
    return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) | ((uint32_t)bytes[3] << 24);
}

/// Byte position (0...3) of an 8-bit mask within a little-endian 32-bit pixel, or -1.
static int mask_byte(uint32_t mask) {
    for (int i = 0; i < 4; i++) {
        if (mask == (0xFFu << (8 * i))) {
            return i;
        }
    }
    return -1;
}

ic_status ic_decode_bmp(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    if (size < 26 || data[0] != 'B' || data[1] != 'M') {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a BMP file");
    }
    uint32_t pixel_offset = le32(data + 10);
    uint32_t header_size = le32(data + 14);
    int64_t width = 0, height = 0;
    uint32_t bits = 0, compression = BI_RGB, colours = 0, palette_entry_size = 4;
    if (header_size == 12) {
        width = le16(data + 18);
        height = le16(data + 20);
        bits = le16(data + 24);
        palette_entry_size = 3;
    } else if (header_size >= 40) {
        if (size < 14 + 40) {
            return ic_fail(error, IC_ERROR_CORRUPT, "BMP: truncated header");
        }
        width = (int32_t)le32(data + 18);
        height = (int32_t)le32(data + 22);
        bits = le16(data + 28);
        compression = le32(data + 30);
        colours = le32(data + 46);
    } else {
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "BMP: header of %u bytes", header_size);
    }
    bool top_down = height < 0;
    uint64_t rows = (uint64_t)(height < 0 ? -height : height);
    if (width < 0) {
        return ic_fail(error, IC_ERROR_CORRUPT, "BMP: negative width");
    }
    ic_status status = ic_check_size(out, (uint64_t)width, rows, max_pixels, error);
    if (status != IC_OK) {
        return status;
    }

    ic_mode mode;
    int red = 2, green = 1, blue = 0, alpha = -1; // byte positions inside a 32-bit pixel
    if (compression == BI_RGB && (bits == 1 || bits == 4 || bits == 8)) {
        mode = IC_MODE_P;
    } else if (compression == BI_RGB && (bits == 24 || bits == 32)) {
        mode = IC_MODE_RGB;
    } else if (compression == BI_BITFIELDS && bits == 32) {
        size_t masks = 14 + 40;
        if (size < masks + 12) {
            return ic_fail(error, IC_ERROR_CORRUPT, "BMP: truncated colour masks");
        }
        red = mask_byte(le32(data + masks));
        green = mask_byte(le32(data + masks + 4));
        blue = mask_byte(le32(data + masks + 8));
        if (header_size >= 56 && size >= masks + 16 && le32(data + masks + 12) != 0) {
            alpha = mask_byte(le32(data + masks + 12));
            if (alpha < 0) {
                return ic_fail(error, IC_ERROR_UNSUPPORTED, "BMP: unusual alpha mask");
            }
        }
        if (red < 0 || green < 0 || blue < 0) {
            return ic_fail(error, IC_ERROR_UNSUPPORTED, "BMP: colour masks that are not whole bytes");
        }
        mode = alpha >= 0 ? IC_MODE_RGBA : IC_MODE_RGB;
    } else {
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "BMP: %u-bit images with compression %u", bits, compression);
    }

    uint64_t row_bytes = (((uint64_t)width * bits + 31) / 32) * 4;
    if (pixel_offset > size || row_bytes * rows > size - pixel_offset) {
        return ic_fail(error, IC_ERROR_CORRUPT, "BMP: truncated pixel data");
    }
    if (mode == IC_MODE_P) {
        uint32_t entries = colours != 0 ? colours : 1u << bits;
        if (entries > 256) {
            entries = 256;
        }
        size_t palette_offset = 14 + (size_t)header_size;
        if (palette_offset + (size_t)entries * palette_entry_size > pixel_offset) {
            return ic_fail(error, IC_ERROR_CORRUPT, "BMP: truncated palette");
        }
        for (uint32_t i = 0; i < entries; i++) {
            const uint8_t *entry = data + palette_offset + (size_t)i * palette_entry_size;
            out->palette[i * 3 + 0] = entry[2];
            out->palette[i * 3 + 1] = entry[1];
            out->palette[i * 3 + 2] = entry[0];
        }
        out->palette_entries = entries;
    }
    status = ic_allocate(out, mode, false, error);
    if (status != IC_OK) {
        return status;
    }
    uint32_t columns = out->width;
    uint32_t channels = out->bytes_per_pixel;
    for (uint64_t y = 0; y < rows; y++) {
        const uint8_t *source = data + pixel_offset + (top_down ? y : rows - 1 - y) * row_bytes;
        uint8_t *target = out->pixels + (size_t)y * columns * channels;
        for (uint32_t x = 0; x < columns; x++) {
            switch (bits) {
            case 1:
            case 4:
            case 8: {
                size_t bit = (size_t)x * bits;
                target[x] = (uint8_t)((source[bit >> 3] >> (8 - bits - (bit & 7))) & ((1u << bits) - 1));
                break;
            }
            case 24:
                target[x * 3 + 0] = source[x * 3 + 2];
                target[x * 3 + 1] = source[x * 3 + 1];
                target[x * 3 + 2] = source[x * 3 + 0];
                break;
            default: {
                const uint8_t *pixel = source + (size_t)x * 4;
                uint8_t *into = target + (size_t)x * channels;
                into[0] = pixel[red];
                into[1] = pixel[green];
                into[2] = pixel[blue];
                if (alpha >= 0) {
                    into[3] = pixel[alpha];
                }
                break;
            }
            }
        }
    }
    return IC_OK;
}
