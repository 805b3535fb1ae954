// PNG through libpng, mapped to Pillow's PNG modes: grey 1/2/4/8-bit -> L (scaled
// to 0...255), grey 16-bit -> I;16, palette -> P, grey+alpha -> LA, RGB(A) -> RGB(A);
// 16-bit colour samples keep their high byte, as Pillow's "RGB;16B" unpacking does.
// tRNS is reported the way Pillow records it in info["transparency"], not applied.
// libpng reports errors through a handler that longjmps back here, never into Swift.
#include "codec_internal.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct png_source {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char message[200];
} png_source;

static void on_read(png_structp png, png_bytep destination, size_t length) {
    png_source *source = png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        png_error(png, "truncated PNG data");
    }
    memcpy(destination, source->data + source->offset, length);
    source->offset += length;
}

static void on_error(png_structp png, png_const_charp message) {
    png_source *source = png_get_error_ptr(png);
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static uint32_t read_be32(const uint8_t *bytes) {
    return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) | bytes[3];
}

/// Pillow's rule for palette tRNS: one fully transparent entry and every other
/// listed entry opaque gives an integer index; anything else is per-entry alpha,
/// which `convert("RGB")` simply drops.
static void record_palette_transparency(ic_image *out, png_bytep alpha, int count) {
    int transparent = -1;
    for (int i = 0; i < count; i++) {
        if (alpha[i] == 0 && transparent < 0) {
            transparent = i;
        } else if (alpha[i] != 255) {
            return;
        }
    }
    if (transparent >= 0) {
        out->transparency_kind = IC_TRANSPARENCY_INDEX;
        out->transparency[0] = (uint32_t)transparent;
    }
}

static void expand_low_bit_grey(ic_image *out, int bit_depth) {
    uint8_t scale = bit_depth == 1 ? 255 : bit_depth == 2 ? 85 : 17;
    size_t count = (size_t)out->width * out->height;
    for (size_t i = 0; i < count; i++) {
        out->pixels[i] = (uint8_t)(out->pixels[i] * scale);
    }
}

ic_status ic_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (size < 8 || memcmp(data, signature, 8) != 0) {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a PNG file");
    }
    // Read the size from IHDR ourselves: libpng rejects a zero size with a generic
    // error, and the limit must be checked before libpng allocates anything.
    if (size < 8 + 8 + 13 || memcmp(data + 12, "IHDR", 4) != 0) {
        return ic_fail(error, IC_ERROR_CORRUPT, "PNG: missing IHDR chunk");
    }
    ic_status status = ic_check_size(out, read_be32(data + 16), read_be32(data + 20), max_pixels, error);
    if (status != IC_OK) {
        return status;
    }

    png_source source = {.data = data, .size = size, .offset = 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_error, on_warning);
    if (png == NULL) {
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "PNG: cannot create decoder");
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "PNG: cannot create decoder");
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        free(out->pixels);
        out->pixels = NULL;
        return ic_fail(error, IC_ERROR_CORRUPT, "PNG: %s", source.message);
    }
    png_set_read_fn(png, &source, on_read);
    // The pixel limit above is the only size policy; libpng's default caps
    // (1,000,000 columns) would reject images Pillow opens.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_benign_errors(png, 1);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (width != out->width || height != out->height) {
        png_error(png, "inconsistent IHDR");
    }

    png_bytep trns_alpha = NULL;
    int trns_count = 0;
    png_color_16p trns_color = NULL;
    bool has_trns = png_get_valid(png, info, PNG_INFO_tRNS) &&
                    png_get_tRNS(png, info, &trns_alpha, &trns_count, &trns_color) != 0;

    ic_mode mode;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        if (bit_depth == 16) {
            mode = IC_MODE_I16;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            png_set_swap(png); // the file's big-endian samples -> native order
#endif
        } else {
            mode = IC_MODE_L;
            if (bit_depth < 8) {
                png_set_packing(png);
            }
        }
        if (has_trns && trns_color != NULL) {
            // Pillow: mode "1" and "I;16" store a bare int, "L" the raw grey value.
            if (bit_depth == 1) {
                out->transparency_kind = IC_TRANSPARENCY_INT;
                out->transparency[0] = trns_color->gray ? 255 : 0;
            } else if (bit_depth == 16) {
                out->transparency_kind = IC_TRANSPARENCY_INT;
                out->transparency[0] = trns_color->gray;
            } else {
                out->transparency_kind = IC_TRANSPARENCY_GREY;
                out->transparency[0] = trns_color->gray;
            }
        }
        break;
    case PNG_COLOR_TYPE_PALETTE: {
        mode = IC_MODE_P;
        if (bit_depth < 8) {
            png_set_packing(png);
        }
        png_colorp palette = NULL;
        int entries = 0;
        if (png_get_PLTE(png, info, &palette, &entries) != 0 && palette != NULL) {
            if (entries > 256) {
                entries = 256;
            }
            for (int i = 0; i < entries; i++) {
                out->palette[i * 3 + 0] = palette[i].red;
                out->palette[i * 3 + 1] = palette[i].green;
                out->palette[i * 3 + 2] = palette[i].blue;
            }
            out->palette_entries = (uint32_t)entries;
        }
        if (has_trns && trns_alpha != NULL) {
            record_palette_transparency(out, trns_alpha, trns_count);
        }
        break;
    }
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        mode = IC_MODE_LA;
        break;
    case PNG_COLOR_TYPE_RGB:
        mode = IC_MODE_RGB;
        if (has_trns && trns_color != NULL) {
            out->transparency_kind = IC_TRANSPARENCY_RGB;
            out->transparency[0] = trns_color->red;
            out->transparency[1] = trns_color->green;
            out->transparency[2] = trns_color->blue;
        }
        break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        mode = IC_MODE_RGBA;
        break;
    default:
        png_destroy_read_struct(&png, &info, NULL);
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "PNG: colour type %d", color_type);
    }
    if (bit_depth == 16 && mode != IC_MODE_I16) {
        png_set_strip_16(png); // keeps the high byte, like Pillow's ";16B" unpackers
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t bytes = ic_mode_bytes(mode);
    if (png_get_rowbytes(png, info) != (size_t)width * bytes) {
        png_error(png, "unexpected row size after transformations");
    }
    status = ic_allocate(out, mode, false, error);
    if (status != IC_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return status;
    }
    rows = malloc(sizeof(png_bytep) * height);
    if (rows == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        ic_image_free(out);
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "PNG: cannot allocate row table");
    }
    for (uint32_t y = 0; y < height; y++) {
        rows[y] = out->pixels + (size_t)y * width * bytes;
    }
    png_read_image(png, rows);
    // Chunks after the image data (and IEND) are not needed, as for Pillow.
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    if (mode == IC_MODE_L && bit_depth < 8) {
        expand_low_bit_grey(out, bit_depth);
    }
    return IC_OK;
}
