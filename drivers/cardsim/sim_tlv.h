/* sim_tlv.h - the applet's simple BER-TLV rules: one-byte tags, lengths
 * in 1 (00-7F, but not 00), 2 (81 xx) or 3 (82 xx xx, < 8000) bytes. */
#ifndef SIM_TLV_H
#define SIM_TLV_H

#include <stddef.h>
#include <stdint.h>

/* Length value at buf[off], or -1 if the encoding is invalid. */
long sim_tlv_len(const uint8_t *buf, size_t buflen, size_t off);
/* Size of the length field that encodes len. */
size_t sim_tlv_len_size(long len);
/* Offset of the first top-level tag in buf[off..off+len), -1 if absent,
 * -2 if the structure is broken before it is found. */
long sim_tlv_find(const uint8_t *buf, size_t buflen, size_t off, size_t len,
    uint8_t tag);
/* Whether buf[off..off+len) is a clean sequence of TLVs. */
int sim_tlv_consistent(const uint8_t *buf, size_t buflen, size_t off,
    size_t len);
/* Value of tag at top level: sets *val and *vlen, returns 0 or -1. */
int sim_tlv_value(const uint8_t *buf, size_t buflen, size_t off, size_t len,
    uint8_t tag, const uint8_t **val, size_t *vlen);
/* Write tag (1 or 2 bytes) and length; returns bytes written. */
size_t sim_tlv_put_hdr(uint8_t *out, unsigned tag, size_t len);

#endif
