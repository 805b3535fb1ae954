// Helpers shared by the decoders (not part of the public header).
#pragma once

#include "image_codecs.h"

#include <stdarg.h>
#include <stdbool.h>

/// Writes a printf-style message into `error` (when non-NULL) and returns `status`.
ic_status ic_fail(ic_error *error, ic_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/// Records the header size in `out` and checks it: zero sides and pixel counts over
/// `max_pixels` are reported before anything is allocated.
ic_status ic_check_size(ic_image *out, uint64_t width, uint64_t height, uint64_t max_pixels, ic_error *error);

/// Allocates `out->pixels` for the size already recorded and sets `mode` and
/// `bytes_per_pixel`; zero-filled when `zeroed` is true.
ic_status ic_allocate(ic_image *out, ic_mode mode, bool zeroed, ic_error *error);

/// Bytes per pixel of a mode.
uint32_t ic_mode_bytes(ic_mode mode);
