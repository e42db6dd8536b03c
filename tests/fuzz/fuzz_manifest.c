/*
 * fuzz_manifest: proto/mrx_manifest.c against arbitrary MANIFEST text. A
 * text that parses must print back to itself and parse again the same.
 */
#include "mrx_manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mrx_manifest *m = NULL, *again = NULL;
    char *text = NULL;
    size_t len = 0;

    if (mrx_manifest_parse(&m, (const char *)data, size) != 0)
        return 0;
    /* every listed path is one a reader may write */
    for (size_t i = 0; i < mrx_manifest_count(m); i++) {
        const mrx_manifest_entry *e = mrx_manifest_entry_at(m, i);
        if (!mrx_path_valid(e->path) || mrx_manifest_find(m, e->path) != (long)i)
            abort();
    }
    if (mrx_manifest_format(m, &text, &len) != 0 || len != size || memcmp(text, data, size) != 0)
        abort();
    if (mrx_manifest_parse(&again, text, len) != 0 ||
        mrx_manifest_count(again) != mrx_manifest_count(m))
        abort();
    free(text);
    mrx_manifest_destroy(&m);
    mrx_manifest_destroy(&again);
    return 0;
}
