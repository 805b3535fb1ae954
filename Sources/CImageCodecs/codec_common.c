#include "codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ic_status ic_fail(ic_error *error, ic_status status, const char *format, ...) {
    if (error != NULL) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(error->message, sizeof error->message, format, arguments);
        va_end(arguments);
    }
    return status;
}

ic_status ic_check_size(ic_image *out, uint64_t width, uint64_t height, uint64_t max_pixels, ic_error *error) {
    out->width = width > UINT32_MAX ? UINT32_MAX : (uint32_t)width;
    out->height = height > UINT32_MAX ? UINT32_MAX : (uint32_t)height;
    if (width == 0 || height == 0) {
        return ic_fail(error, IC_ERROR_ZERO_SIZE, "image has zero size (%llux%llu)",
                       (unsigned long long)width, (unsigned long long)height);
    }
    // Both sides fit in 32 bits for every format handled here, so the product cannot overflow.
    if (width > UINT32_MAX || height > UINT32_MAX || width * height > max_pixels) {
        return ic_fail(error, IC_ERROR_TOO_MANY_PIXELS, "image has %llux%llu pixels, more than the limit of %llu",
                       (unsigned long long)width, (unsigned long long)height, (unsigned long long)max_pixels);
    }
    return IC_OK;
}

uint32_t ic_mode_bytes(ic_mode mode) {
    switch (mode) {
    case IC_MODE_L: return 1;
    case IC_MODE_P: return 1;
    case IC_MODE_LA: return 2;
    case IC_MODE_PA: return 2;
    case IC_MODE_I16: return 2;
    case IC_MODE_RGB: return 3;
    case IC_MODE_RGBA: return 4;
    case IC_MODE_CMYK: return 4;
    }
    return 0;
}

ic_status ic_allocate(ic_image *out, ic_mode mode, bool zeroed, ic_error *error) {
    uint32_t bytes_per_pixel = ic_mode_bytes(mode);
    size_t count = (size_t)out->width * (size_t)out->height;
    if (bytes_per_pixel != 0 && count > SIZE_MAX / bytes_per_pixel) {
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "image too large to address");
    }
    size_t bytes = count * bytes_per_pixel;
    out->pixels = zeroed ? calloc(bytes, 1) : malloc(bytes);
    if (out->pixels == NULL) {
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes for pixels", bytes);
    }
    out->mode = mode;
    out->bytes_per_pixel = bytes_per_pixel;
    return IC_OK;
}

void ic_image_free(ic_image *image) {
    if (image == NULL) {
        return;
    }
    free(image->pixels);
    memset(image, 0, sizeof *image);
}
