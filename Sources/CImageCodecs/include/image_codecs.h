// Image decoding through the system codec libraries (libjpeg-turbo, libpng, giflib,
// libwebp, libtiff) plus a small BMP reader, from a memory buffer into a plain struct.
//
// Every decoder checks the pixel count read from the header against `max_pixels`
// BEFORE allocating pixel memory, and turns every library error (libjpeg's and
// libpng's longjmp-based ones included) into a status code and a message. No
// longjmp ever crosses this API, and no call aborts the process on bad input.
//
// The decoded image keeps the source's "mode" the way Pillow's `Image.open` would
// report it (palette indices stay indices, 16-bit grey stays 16-bit, CMYK stays
// CMYK, alpha stays alpha), so that the caller can reproduce Pillow's
// `convert("RGB")` exactly. Decoders never apply EXIF orientation, gamma or ICC.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a decode call.
typedef enum ic_status {
    IC_OK = 0,
    /// The data is not a valid image of the format (garbage, truncated, corrupt).
    IC_ERROR_CORRUPT = 1,
    /// A valid file of the format, in a variant this build does not decode.
    IC_ERROR_UNSUPPORTED = 2,
    /// The header declares a zero width or height.
    IC_ERROR_ZERO_SIZE = 3,
    /// width * height (from the header) exceeds the caller's limit; nothing was allocated.
    IC_ERROR_TOO_MANY_PIXELS = 4,
    /// An allocation failed.
    IC_ERROR_OUT_OF_MEMORY = 5,
} ic_status;

/// Pixel layout of `ic_image.pixels`, named after Pillow's modes.
typedef enum ic_mode {
    IC_MODE_L = 1,    ///< 1 byte: grey (also 1/2/4-bit sources, scaled to 0...255 as Pillow does).
    IC_MODE_LA = 2,   ///< 2 bytes: grey, alpha.
    IC_MODE_RGB = 3,  ///< 3 bytes.
    IC_MODE_RGBA = 4, ///< 4 bytes, straight (not premultiplied) alpha.
    IC_MODE_P = 5,    ///< 1 byte: index into `palette`.
    IC_MODE_PA = 6,   ///< 2 bytes: index, alpha.
    IC_MODE_I16 = 7,  ///< 2 bytes: native-endian uint16 grey (Pillow's "I;16").
    IC_MODE_CMYK = 8, ///< 4 bytes: ink amounts C, M, Y, K (0 = no ink).
} ic_mode;

/// What Pillow would store in `info["transparency"]` for the decoded image.
/// Pillow keeps a single transparent colour (not an alpha channel) through
/// `convert("RGB")`, and downstream code may honour it, so it is reported as is.
typedef enum ic_transparency_kind {
    IC_TRANSPARENCY_NONE = 0,
    IC_TRANSPARENCY_INDEX = 1, ///< P image: `transparency[0]` is the transparent palette index.
    IC_TRANSPARENCY_GREY = 2,  ///< L image: `transparency[0]` is the raw grey value from the file.
    IC_TRANSPARENCY_RGB = 3,   ///< RGB image: raw (possibly 16-bit) red, green, blue from the file.
    IC_TRANSPARENCY_INT = 4,   ///< 1-bit or I;16 image: a bare integer (Pillow stores an int).
} ic_transparency_kind;

/// A decoded image. `pixels` is owned by the struct; release it with `ic_image_free`.
typedef struct ic_image {
    uint32_t width;
    uint32_t height;
    int32_t mode;             ///< An `ic_mode`.
    uint32_t bytes_per_pixel; ///< Row stride is `width * bytes_per_pixel`, no padding.
    uint8_t *pixels;
    /// RGB triplets for P and PA images; entries past `palette_entries` are zero.
    uint8_t palette[768];
    uint32_t palette_entries;
    int32_t transparency_kind; ///< An `ic_transparency_kind`.
    uint32_t transparency[3];
} ic_image;

/// Error text written by a failing decode call.
typedef struct ic_error {
    char message[256];
} ic_error;

/// Each decoder fills `out` on IC_OK. On failure `out->pixels` is NULL, `error`
/// says why, and `out->width`/`out->height` hold the header's size when it was
/// read (useful for IC_ERROR_TOO_MANY_PIXELS). `out` must be zero-initialised.
ic_status ic_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);
ic_status ic_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);
/// First frame only, composed on the logical screen the way Pillow does.
ic_status ic_decode_gif(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);
/// First frame of still or animated WebP.
ic_status ic_decode_webp(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);
/// First directory (page) only.
ic_status ic_decode_tiff(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);
/// Uncompressed 1/4/8/24/32-bit and 32-bit BITFIELDS Windows bitmaps.
ic_status ic_decode_bmp(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error);

/// Frees `image->pixels` and zeroes the struct. Safe on a zeroed or failed image.
void ic_image_free(ic_image *image);

#ifdef __cplusplus
}
#endif
