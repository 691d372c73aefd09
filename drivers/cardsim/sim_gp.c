/* sim_gp.c - the card manager. Only the chip serial in CPLC is the card's
 * own; the other CPLC fields are fixed, plausible values of a JCOP-like
 * chip (they identify the chip type, not the card). */
#include "sim_gp.h"

#include <string.h>

/* Both AIDs real cards use for the issuer security domain. */
static const uint8_t isd_aid_op[8] = {0xA0, 0, 0, 0x00, 0x03, 0, 0, 0};
static const uint8_t isd_aid_gp[8] = {0xA0, 0, 0, 0x01, 0x51, 0, 0, 0};

int sim_gp_is_aid(const struct sim_card *c, const uint8_t *aid, size_t len)
{
	/* A partial AID selects too, as on JavaCard runtimes. A manager
	 * with an AID of its own (--manager-aid) answers only to that. */
	if (c->manager_aid_len > 0)
		return len >= 5 && len <= c->manager_aid_len &&
		    memcmp(aid, c->manager_aid, len) == 0;
	return len >= 5 && len <= 8 && (memcmp(aid, isd_aid_op, len) == 0 ||
	    memcmp(aid, isd_aid_gp, len) == 0);
}

void sim_gp_select(const struct sim_card *c, const uint8_t *aid, size_t len,
    struct sim_resp *r)
{
	const uint8_t *full = len == 0 || memcmp(aid, isd_aid_gp, len) == 0 ?
	    isd_aid_gp : isd_aid_op;
	size_t flen = 8;
	uint8_t *p = r->data;

	if (c->manager_aid_len > 0) {
		full = c->manager_aid;
		flen = c->manager_aid_len;
	}
	/* FCI: DF name, proprietary data with the maximum command length. */
	*p++ = 0x6F;
	*p++ = (uint8_t)(8 + flen);
	*p++ = 0x84;
	*p++ = (uint8_t)flen;
	memcpy(p, full, flen);
	p += flen;
	*p++ = 0xA5;
	*p++ = 0x04;
	*p++ = 0x9F;
	*p++ = 0x65;
	*p++ = 0x01;
	*p++ = 0xFF;
	r->len = (size_t)(p - r->data);
}

void sim_gp_cplc(const struct sim_card *c, uint8_t out[42])
{
	static const uint8_t fixed[12] = {
		0x47, 0x90,	/* IC fabricator */
		0x50, 0x40,	/* IC type */
		0x47, 0x91,	/* operating system identifier */
		0x23, 0x48,	/* operating system release date */
		0x01, 0x00,	/* operating system release level */
		0x23, 0x30,	/* IC fabrication date */
	};

	memset(out, 0, 42);
	memcpy(out, fixed, sizeof(fixed));
	memcpy(out + 12, c->serial, SIM_SERIAL_LEN);	/* IC serial number */
	out[16] = 0x00;					/* IC batch identifier */
	out[17] = 0x01;
}

uint16_t sim_gp_process(const struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	if (a->cla != 0x80 && a->cla != 0x00 && a->cla != 0x84)
		return SW_CLA_NOT_SUPPORTED;
	switch (a->ins) {
	case 0xA4:
		/* Not the card manager's or an applet's AID. */
		return SW_FILE_NOT_FOUND;
	case 0xCA:
		/* A locked manager (--manager-locked SW) refuses with SW. */
		if (a->p1 == 0x9F && a->p2 == 0x7F && c->manager_cplc_sw != 0)
			return c->manager_cplc_sw;
		if (a->p1 == 0x9F && a->p2 == 0x7F) {
			r->data[0] = 0x9F;
			r->data[1] = 0x7F;
			r->data[2] = 42;
			sim_gp_cplc(c, r->data + 3);
			r->len = 45;
			return SW_OK;
		}
		return SW_REF_NOT_FOUND;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}
