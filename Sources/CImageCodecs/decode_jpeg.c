// JPEG through libjpeg(-turbo), configured as Pillow configures it: default (ISLOW)
// IDCT, fancy upsampling, no scaling; 1 component -> L, 3 -> RGB (library colour
// conversion), 4 -> CMYK read with Adobe's inverted polarity (Pillow's "CMYK;I",
// applied to every 4-component JPEG). libjpeg reports errors by calling a handler
// that must not return: it longjmps back here, never into Swift.
#include "codec_internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct jpeg_error_context {
    struct jpeg_error_mgr manager; // must stay first: libjpeg hands us a pointer to it
    jmp_buf jump;
    ic_status status;
    char message[JMSG_LENGTH_MAX];
} jpeg_error_context;

static ic_status status_for_code(int code) {
    switch (code) {
    case JERR_EMPTY_IMAGE:
        return IC_ERROR_ZERO_SIZE;
    case JERR_OUT_OF_MEMORY:
        return IC_ERROR_OUT_OF_MEMORY;
    case JERR_BAD_PRECISION:
    case JERR_NOT_COMPILED:
    case JERR_NOTIMPL:
    case JERR_ARITH_NOTIMPL:
    case JERR_SOF_UNSUPPORTED:
    case JERR_CONVERSION_NOTIMPL:
        return IC_ERROR_UNSUPPORTED;
    default:
        return IC_ERROR_CORRUPT;
    }
}

static void jump_out(j_common_ptr info, ic_status status) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    context->status = status;
    (*info->err->format_message)(info, context->message);
    longjmp(context->jump, 1);
}

static void on_error(j_common_ptr info) {
    jump_out(info, status_for_code(info->err->msg_code));
}

// Warnings are ignored as Pillow ignores them, except running out of data: the
// memory source would then invent an end-of-image marker and return a grey-filled
// picture, whereas Pillow reports a truncated file.
static void on_message(j_common_ptr info, int level) {
    if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) {
        jump_out(info, IC_ERROR_CORRUPT);
    }
}

static void on_output(j_common_ptr info) {
    (void)info;
}

// A progressive JPEG may hold any number of scans, and libjpeg redoes work for each:
// a small file of thousands of tiny scans costs minutes of CPU (libjpeg-turbo's own
// advisory recommends a limit; djpeg's -maxscans). Real files have about 10.
#define IC_JPEG_MAX_SCANS 100

static void on_progress(j_common_ptr info) {
    j_decompress_ptr decompress = (j_decompress_ptr)info;
    if (decompress->input_scan_number > IC_JPEG_MAX_SCANS) {
        jpeg_error_context *context = (jpeg_error_context *)info->err;
        context->status = IC_ERROR_CORRUPT;
        snprintf(context->message, sizeof context->message, "more than %d progressive scans", IC_JPEG_MAX_SCANS);
        longjmp(context->jump, 1);
    }
}

ic_status ic_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8) {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a JPEG file");
    }
    struct jpeg_decompress_struct info;
    jpeg_error_context context;
    memset(&context, 0, sizeof context);
    info.err = jpeg_std_error(&context.manager);
    context.manager.error_exit = on_error;
    context.manager.emit_message = on_message;
    context.manager.output_message = on_output;

    // Assigned after setjmp and read after longjmp, hence volatile.
    JSAMPROW *volatile rows = NULL;
    struct jpeg_progress_mgr progress = {.progress_monitor = on_progress};
    if (setjmp(context.jump)) {
        free(rows);
        jpeg_destroy_decompress(&info);
        free(out->pixels); // keep width/height: they tell the caller what the header said
        out->pixels = NULL;
        return ic_fail(error, context.status, "JPEG: %s", context.message);
    }
    jpeg_create_decompress(&info);
    info.progress = &progress;
    jpeg_mem_src(&info, data, (unsigned long)size);
    if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&info);
        return ic_fail(error, IC_ERROR_CORRUPT, "JPEG: no image in data stream");
    }
    ic_status status = ic_check_size(out, info.image_width, info.image_height, max_pixels, error);
    if (status != IC_OK) {
        jpeg_destroy_decompress(&info);
        return status;
    }
    ic_mode mode;
    switch (info.num_components) {
    case 1:
        info.out_color_space = JCS_GRAYSCALE;
        mode = IC_MODE_L;
        break;
    case 3:
        info.out_color_space = JCS_RGB;
        mode = IC_MODE_RGB;
        break;
    case 4:
        info.out_color_space = JCS_CMYK;
        mode = IC_MODE_CMYK;
        break;
    default:
        jpeg_destroy_decompress(&info);
        return ic_fail(error, IC_ERROR_UNSUPPORTED, "JPEG: cannot handle %d-component images", info.num_components);
    }
    // libjpeg's own memory (the whole-image coefficient buffer of a progressive or
    // multi-scan file: 2 bytes per sample, row buffers) is capped at twice the output image
    // plus 64 MiB: beyond it a decode fails with JERR_NO_BACKING_STORE instead of growing.
    // The slack covers block padding (up to 31 rows and columns of 4 components at the
    // format's 65535-pixel sides: ~33 MB) and the small pools.
    uint64_t output_bytes = (uint64_t)out->width * out->height * (uint64_t)info.num_components;
    uint64_t budget = 2 * output_bytes + (64u << 20);
    info.mem->max_memory_to_use = budget > (uint64_t)LONG_MAX ? LONG_MAX : (long)budget;
    jpeg_start_decompress(&info);
    if (info.output_width != out->width || info.output_height != out->height ||
        (uint32_t)info.output_components != ic_mode_bytes(mode)) {
        jpeg_destroy_decompress(&info);
        return ic_fail(error, IC_ERROR_CORRUPT, "JPEG: unexpected output geometry");
    }
    status = ic_allocate(out, mode, false, error);
    if (status != IC_OK) {
        jpeg_destroy_decompress(&info);
        return status;
    }
    size_t stride = (size_t)out->width * out->bytes_per_pixel;
    rows = malloc(sizeof(JSAMPROW) * out->height);
    if (rows == NULL) {
        jpeg_destroy_decompress(&info);
        ic_image_free(out);
        return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "JPEG: cannot allocate row table");
    }
    for (uint32_t y = 0; y < out->height; y++) {
        rows[y] = out->pixels + y * stride;
    }
    while (info.output_scanline < info.output_height) {
        jpeg_read_scanlines(&info, rows + info.output_scanline, info.output_height - info.output_scanline);
    }
    // Reads up to the end-of-image marker: like Pillow, a file that stops before
    // it counts as truncated (the memory source then warns JWRN_JPEG_EOF).
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    free(rows);
    if (mode == IC_MODE_CMYK) {
        size_t count = stride * out->height;
        for (size_t i = 0; i < count; i++) {
            out->pixels[i] = (uint8_t)(255 - out->pixels[i]);
        }
    }
    return IC_OK;
}
