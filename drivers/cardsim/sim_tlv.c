/* sim_tlv.c - TLV parsing with the applet's own limits. */
#include "sim_tlv.h"

long sim_tlv_len(const uint8_t *buf, size_t buflen, size_t off)
{
	if (off >= buflen)
		return -1;
	if (buf[off] == 0x82) {
		if (off + 2 >= buflen || buf[off + 1] & 0x80)
			return -1;
		return (long)buf[off + 1] << 8 | buf[off + 2];
	}
	if (buf[off] == 0x81) {
		if (off + 1 >= buflen)
			return -1;
		return buf[off + 1];
	}
	/* The applet treats a zero length byte as invalid too. */
	if (buf[off] > 0 && buf[off] < 0x80)
		return buf[off];
	return -1;
}

size_t sim_tlv_len_size(long len)
{
	return len < 128 ? 1 : len < 256 ? 2 : 3;
}

long sim_tlv_find(const uint8_t *buf, size_t buflen, size_t off, size_t len,
    uint8_t tag)
{
	size_t pos = off;
	long l;

	while (pos + 1 < off + len) {
		if (buf[pos] == tag)
			return (long)pos;
		if ((l = sim_tlv_len(buf, buflen, pos + 1)) < 0)
			return -2;
		pos += 1 + sim_tlv_len_size(l) + (size_t)l;
	}
	return -1;
}

int sim_tlv_consistent(const uint8_t *buf, size_t buflen, size_t off,
    size_t len)
{
	size_t pos = off;
	long l;

	while (pos + 1 < off + len) {
		if ((l = sim_tlv_len(buf, buflen, pos + 1)) < 0)
			return 0;
		pos += 1 + sim_tlv_len_size(l) + (size_t)l;
	}
	return pos == off + len;
}

int sim_tlv_value(const uint8_t *buf, size_t buflen, size_t off, size_t len,
    uint8_t tag, const uint8_t **val, size_t *vlen)
{
	long pos, l;

	if ((pos = sim_tlv_find(buf, buflen, off, len, tag)) < 0)
		return -1;
	if ((l = sim_tlv_len(buf, buflen, (size_t)pos + 1)) < 0)
		return -1;
	pos += 1 + (long)sim_tlv_len_size(l);
	if ((size_t)pos + (size_t)l > buflen)
		return -1;
	*val = buf + pos;
	*vlen = (size_t)l;
	return 0;
}

size_t sim_tlv_put_hdr(uint8_t *out, unsigned tag, size_t len)
{
	size_t n = 0;

	if (tag > 0xFF)
		out[n++] = (uint8_t)(tag >> 8);
	out[n++] = (uint8_t)tag;
	if (len < 128) {
		out[n++] = (uint8_t)len;
	} else if (len < 256) {
		out[n++] = 0x81;
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x82;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	}
	return n;
}
