// libFuzzer harness for one CImageCodecs entry point, chosen at compile time with
// -DIC_FUZZ_DECODER=ic_decode_bmp (scripts/fuzz.sh builds one binary per decoder).
//
// Beyond "no crash, no sanitizer report" it checks the API's contract: on success the
// buffer holds width * height * bytes_per_pixel readable bytes within the pixel limit;
// on failure no buffer is left behind.
#include "image_codecs.h"

#include <stdint.h>
#include <stdlib.h>

#ifndef IC_FUZZ_DECODER
#error "define IC_FUZZ_DECODER to a decoder entry point, e.g. ic_decode_bmp"
#endif

// 4 Mpx keeps each run fast and inside libFuzzer's RSS limit; the limit logic itself is
// the same for any value.
#define IC_FUZZ_MAX_PIXELS (1u << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ic_image image = {0};
    ic_error error = {{0}};
    ic_status status = IC_FUZZ_DECODER(data, size, IC_FUZZ_MAX_PIXELS, &image, &error);
    if (status == IC_OK) {
        if (image.pixels == NULL || image.width == 0 || image.height == 0 ||
            (uint64_t)image.width * image.height > IC_FUZZ_MAX_PIXELS || image.bytes_per_pixel == 0 ||
            image.bytes_per_pixel > 4) {
            abort();
        }
        // Every byte must be readable (ASan reports a short buffer).
        size_t count = (size_t)image.width * image.height * image.bytes_per_pixel;
        volatile uint8_t fold = 0;
        for (size_t i = 0; i < count; i += 61) {
            fold ^= image.pixels[i];
        }
        fold ^= image.pixels[count - 1];
        if (image.palette_entries > 256) {
            abort();
        }
    } else if (image.pixels != NULL || error.message[0] == 0) {
        // A failure names its reason and leaves nothing allocated.
        abort();
    }
    ic_image_free(&image);
    return 0;
}
