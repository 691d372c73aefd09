/* sim_card.c - the runtime around the applets. */
#include "sim_card.h"
#include "sim_applet.h"
#include "sim_fs.h"
#include "sim_gp.h"
#include "sim_key.h"
#include "sim_piv.h"

#include <stdlib.h>
#include <string.h>

int sim_card_init_blank(struct sim_card *c, const uint8_t *serial)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->serial, serial, SIM_SERIAL_LEN);
	c->state = SIM_STATE_CREATION;
	/* The IsoApplet build this card models allows key import (the
	 * applet's compile-time switch): the station stores PKCS#12 keys. */
	c->import_allowed = 1;
	if ((c->mf = sim_fs_new_mf()) == NULL)
		return SIM_ERR_NOMEM;
	sim_card_reset(c);
	return SIM_OK;
}

void sim_card_free(struct sim_card *c)
{
	int i;

	sim_applet_deselect(c);
	sim_piv_free(c);
	for (i = 0; i < SIM_KEY_MAX; i++)
		sim_key_clear(&c->key[i]);
	sim_fs_free(c->mf);
	memset(c, 0, sizeof(*c));
}

void sim_card_reset(struct sim_card *c)
{
	sim_applet_deselect(c);
	sim_piv_deselect(c);
	c->selected = c->no_manager ? SIM_SEL_NONE : SIM_SEL_MANAGER;
}

int sim_apdu_parse(const uint8_t *cmd, size_t len, struct sim_apdu *a)
{
	memset(a, 0, sizeof(*a));
	if (len < 4)
		return -1;
	a->cla = cmd[0];
	a->ins = cmd[1];
	a->p1 = cmd[2];
	a->p2 = cmd[3];
	if (len == 4)
		return 0;
	if (len == 5) {
		a->has_le = 1;
		a->le = cmd[4] ? cmd[4] : 256;
		return 0;
	}
	if (cmd[4] == 0)
		return -1;	/* extended length: not announced, not taken */
	a->lc = cmd[4];
	a->data = cmd + 5;
	if (len == 5 + a->lc)
		return 0;
	if (len == 6 + a->lc) {
		a->has_le = 1;
		a->le = cmd[len - 1] ? cmd[len - 1] : 256;
		return 0;
	}
	return -1;
}

static int is_applet_aid(const struct sim_card *c, const uint8_t *aid,
    size_t len)
{
	/* A card carries one applet: the PIV applet or the IsoApplet. */
	if (c->piv != NULL)
		return sim_piv_is_aid(aid, len);
	return len >= 5 && len <= sizeof(sim_applet_aid) &&
	    memcmp(aid, sim_applet_aid, len) == 0;
}

static uint16_t dispatch(struct sim_card *c, const struct sim_apdu *a,
    struct sim_resp *r)
{
	switch (c->selected) {
	case SIM_SEL_ISOAPPLET:
		return sim_applet_process(c, a, r);
	case SIM_SEL_PIV:
		return sim_piv_process(c, a, r);
	case SIM_SEL_MANAGER:
		return sim_gp_process(c, a, r);
	default:
		/* No applet selected (jcardsim's runtime): a SELECT of an AID
		 * it does not know fails as an applet selection, anything
		 * else is not allowed. */
		return a->ins == 0xA4 && a->p1 == 0x04 ? 0x6999 : 0x6986;
	}
}

/* The selected applet loses its transient state. */
static void deselect(struct sim_card *c)
{
	if (c->selected == SIM_SEL_ISOAPPLET)
		sim_applet_deselect(c);
	else if (c->selected == SIM_SEL_PIV)
		sim_piv_deselect(c);
}

void sim_card_apdu(struct sim_card *c, const uint8_t *cmd, size_t len,
    struct sim_resp *r)
{
	struct sim_apdu a;

	r->len = 0;
	if (sim_apdu_parse(cmd, len, &a) != 0) {
		r->sw = SW_WRONG_LENGTH;
		return;
	}
	/* Only the basic channel: logical channels are not offered. */
	if (((a.cla & 0x40) == 0 && (a.cla & 0x03) != 0) ||
	    ((a.cla & 0x40) != 0 && (a.cla & 0x0F) != 0) || a.ins == 0x70) {
		r->sw = SW_LOGICAL_CHANNEL;
		return;
	}
	/* SELECT by AID is the runtime's: an applet's AID selects it, any
	 * other name goes to the selected applet as a file selection. With
	 * no AID at all, GlobalPlatform selects the card manager. */
	if (a.ins == 0xA4 && a.p1 == 0x04 && (a.cla & 0x80) == 0 &&
	    (a.p2 & 0xF3) == 0) {
		if (is_applet_aid(c, a.data, a.lc)) {
			deselect(c);
			if (c->piv != NULL) {
				c->selected = SIM_SEL_PIV;
				sim_piv_select(c, r);
			} else {
				c->selected = SIM_SEL_ISOAPPLET;
				sim_applet_select(c, r);
			}
			r->sw = SW_OK;
			return;
		}
		if (!c->no_manager && (a.lc == 0 ||
		    sim_gp_is_aid(c, a.data, a.lc))) {
			deselect(c);
			c->selected = SIM_SEL_MANAGER;
			sim_gp_select(c, a.data, a.lc, r);
			r->sw = SW_OK;
			return;
		}
	}
	r->sw = dispatch(c, &a, r);
	/* Data goes out only with success or a warning, as on T=1. */
	if (r->sw != SW_OK && (r->sw & 0xFF00) != SW_BYTES_REMAINING_00)
		r->len = 0;
}
