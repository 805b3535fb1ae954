// GIF through giflib: the first frame only, composed the way Pillow composes it.
// The canvas is the logical screen grown to contain the frame, filled with the
// frame's transparent index when it has one and with index 0 otherwise; the frame
// is drawn at its offset, transparent pixels included. A palette that is the
// identity grey ramp is treated as no palette (Pillow then uses mode "L"), and a
// missing palette maps index i to grey i. The transparent index is reported as
// Pillow's info["transparency"].
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

typedef struct gif_source {
    const uint8_t *data;
    size_t size;
    size_t offset;
} gif_source;

static int on_read(GifFileType *file, GifByteType *destination, int length) {
    gif_source *source = file->UserData;
    if (length <= 0) {
        return 0;
    }
    size_t available = source->size - source->offset;
    size_t count = (size_t)length < available ? (size_t)length : available;
    memcpy(destination, source->data + source->offset, count);
    source->offset += count;
    return (int)count;
}

static bool is_identity_grey(const ColorMapObject *map) {
    for (int i = 0; i < map->ColorCount; i++) {
        const GifColorType *color = &map->Colors[i];
        if (color->Red != i || color->Green != i || color->Blue != i) {
            return false;
        }
    }
    return true;
}

static void set_palette(ic_image *out, const ColorMapObject *map) {
    if (map == NULL || map->Colors == NULL || is_identity_grey(map)) {
        for (int i = 0; i < 256; i++) {
            memset(out->palette + i * 3, i, 3);
        }
        out->palette_entries = 256;
        return;
    }
    int count = map->ColorCount > 256 ? 256 : map->ColorCount;
    for (int i = 0; i < count; i++) {
        out->palette[i * 3 + 0] = map->Colors[i].Red;
        out->palette[i * 3 + 1] = map->Colors[i].Green;
        out->palette[i * 3 + 2] = map->Colors[i].Blue;
    }
    out->palette_entries = (uint32_t)count;
}

static ic_status fail_with(GifFileType *file, ic_image *out, ic_error *error, const char *what) {
    int code = file != NULL ? file->Error : D_GIF_ERR_READ_FAILED;
    const char *reason = GifErrorString(code);
    if (file != NULL) {
        int ignored = 0;
        DGifCloseFile(file, &ignored);
    }
    ic_status status = code == D_GIF_ERR_NOT_ENOUGH_MEM ? IC_ERROR_OUT_OF_MEMORY : IC_ERROR_CORRUPT;
    free(out->pixels);
    out->pixels = NULL;
    return ic_fail(error, status, "GIF: %s (%s)", what, reason != NULL ? reason : "unknown error");
}

/// Reads the frame's rows (de-interlacing when needed) straight into the canvas.
static bool read_frame(GifFileType *file, ic_image *out, uint8_t *line) {
    const GifImageDesc *frame = &file->Image;
    static const int interlaced_start[4] = {0, 4, 2, 1};
    static const int interlaced_step[4] = {8, 8, 4, 2};
    int passes = frame->Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        int start = frame->Interlace ? interlaced_start[pass] : 0;
        int step = frame->Interlace ? interlaced_step[pass] : 1;
        for (int row = start; row < frame->Height; row += step) {
            if (DGifGetLine(file, line, frame->Width) != GIF_OK) {
                return false;
            }
            uint8_t *target = out->pixels + ((size_t)(frame->Top + row) * out->width + (size_t)frame->Left);
            memcpy(target, line, (size_t)frame->Width);
        }
    }
    return true;
}

ic_status ic_decode_gif(const uint8_t *data, size_t size, uint64_t max_pixels, ic_image *out, ic_error *error) {
    if (size < 6 || (memcmp(data, "GIF87a", 6) != 0 && memcmp(data, "GIF89a", 6) != 0)) {
        return ic_fail(error, IC_ERROR_CORRUPT, "not a GIF file");
    }
    gif_source source = {.data = data, .size = size, .offset = 0};
    int code = 0;
    GifFileType *file = DGifOpen(&source, on_read, &code);
    if (file == NULL) {
        const char *reason = GifErrorString(code);
        return ic_fail(error, code == D_GIF_ERR_NOT_ENOUGH_MEM ? IC_ERROR_OUT_OF_MEMORY : IC_ERROR_CORRUPT,
                       "GIF: cannot read header (%s)", reason != NULL ? reason : "unknown error");
    }
    int transparent = -1;
    for (;;) {
        GifRecordType record;
        if (DGifGetRecordType(file, &record) != GIF_OK) {
            return fail_with(file, out, error, "cannot read record");
        }
        if (record == TERMINATE_RECORD_TYPE) {
            int ignored = 0;
            DGifCloseFile(file, &ignored);
            return ic_fail(error, IC_ERROR_CORRUPT, "GIF: no image in file");
        }
        if (record == EXTENSION_RECORD_TYPE) {
            int function = 0;
            GifByteType *block = NULL;
            if (DGifGetExtension(file, &function, &block) != GIF_OK) {
                return fail_with(file, out, error, "cannot read extension");
            }
            // Graphic control extension: the last one before the image that sets
            // the transparency flag wins, as in Pillow.
            if (function == GRAPHICS_EXT_FUNC_CODE && block != NULL && block[0] >= 4 && (block[1] & 1)) {
                transparent = block[4];
            }
            while (block != NULL) {
                if (DGifGetExtensionNext(file, &block) != GIF_OK) {
                    return fail_with(file, out, error, "cannot read extension");
                }
            }
            continue;
        }
        if (record != IMAGE_DESC_RECORD_TYPE) {
            continue;
        }
        if (DGifGetImageDesc(file) != GIF_OK) {
            return fail_with(file, out, error, "cannot read image descriptor");
        }
        const GifImageDesc *frame = &file->Image;
        if (frame->Left < 0 || frame->Top < 0 || frame->Width < 0 || frame->Height < 0) {
            return fail_with(file, out, error, "invalid frame geometry");
        }
        uint64_t right = (uint64_t)frame->Left + (uint64_t)frame->Width;
        uint64_t bottom = (uint64_t)frame->Top + (uint64_t)frame->Height;
        uint64_t width = right > (uint64_t)file->SWidth ? right : (uint64_t)file->SWidth;
        uint64_t height = bottom > (uint64_t)file->SHeight ? bottom : (uint64_t)file->SHeight;
        ic_status status = ic_check_size(out, width, height, max_pixels, error);
        if (status != IC_OK) {
            int ignored = 0;
            DGifCloseFile(file, &ignored);
            return status;
        }
        set_palette(out, frame->ColorMap != NULL ? frame->ColorMap : file->SColorMap);
        status = ic_allocate(out, IC_MODE_P, transparent <= 0, error);
        if (status != IC_OK) {
            int ignored = 0;
            DGifCloseFile(file, &ignored);
            return status;
        }
        if (transparent > 0) {
            memset(out->pixels, transparent, (size_t)out->width * out->height);
        }
        if (frame->Width > 0 && frame->Height > 0) {
            uint8_t *line = malloc((size_t)frame->Width);
            if (line == NULL) {
                int ignored = 0;
                DGifCloseFile(file, &ignored);
                ic_image_free(out);
                return ic_fail(error, IC_ERROR_OUT_OF_MEMORY, "GIF: cannot allocate line buffer");
            }
            bool complete = read_frame(file, out, line);
            free(line);
            if (!complete) {
                return fail_with(file, out, error, "cannot decode frame");
            }
        }
        int ignored = 0;
        DGifCloseFile(file, &ignored);
        if (transparent >= 0) {
            out->transparency_kind = IC_TRANSPARENCY_INDEX;
            out->transparency[0] = (uint32_t)transparent;
        }
        return IC_OK;
    }
}
