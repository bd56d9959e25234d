/*
 * Decompression of btrfs encoded extents, for ENCODED_WRITE when the
 * kernel cannot take the extent as it is (spec 6.6).
 */
#ifndef BTRSEND_ENGINE_DECOMPRESS_H
#define BTRSEND_ENGINE_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* BTRFS_ENCODED_IO_COMPRESSION_* (spec appendix B). */
#define ENC_COMPRESSION_NONE    0
#define ENC_COMPRESSION_ZLIB    1
#define ENC_COMPRESSION_ZSTD    2
#define ENC_COMPRESSION_LZO_4K  3       /* ..LZO_64K = 7 */
#define ENC_COMPRESSION_LZO_64K 7
#define ENC_COMPRESSION_TYPES   8

/*
 * Decompress one encoded extent `in` into out[0..out_len), where out_len
 * is the extent's UNENCODED_LEN; bytes the data does not cover are zero.
 * Returns 0, or -1 with a reason in err (corrupt data, output overflow,
 * unknown compression).  Never reads or writes out of bounds, whatever
 * the input.
 */
int decompress_extent(uint32_t compression, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_len, char *err, size_t errlen);

#endif
