/* main.c - cardsim: a virtual IsoApplet JavaCard (or PIV token) in a vpcd
 * reader.
 *
 *   cardsim --create FILE --serial HEX [--applet isoapplet|piv|piv-generic]
 *   cardsim --port P --image FILE [--host H] [--latency real|none]
 *           [--baud N] [--trace FILE|-] [--stats FILE]
 *           [--pull-after N] [--fail-write N] [--lose-write N]
 *           [--runtime javacard|jcardsim]
 *           [--manager-aid HEX] [--manager-locked SW]
 *
 * The card stays in the reader until SIGTERM/SIGINT (card removed, exit
 * 0), until vpcd closes the connection (exit 0), or until --pull-after
 * pulls it (exit 3). */
#include "sim.h"
#include "sim_applet.h"
#include "sim_card.h"
#include "sim_image.h"
#include "sim_latency.h"
#include "sim_piv.h"
#include "sim_trace.h"
#include "sim_vpcd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_PULLED 3

/* jcardsim's default ATR (a JCOP 31/36K): the simulator the reference
 * APDU counts were taken with shows OpenSC this ATR. */
static const uint8_t default_atr[] = {0x3B, 0xFA, 0x18, 0x00, 0x00, 0x81,
    0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x33, 0x31, 0x56, 0x32, 0x33,
    0x32, 0x98};

struct opts {
	const char *create;
	const char *serial;
	const char *image;
	const char *host;
	int port;
	const char *latency;
	double baud;
	const char *trace;
	const char *stats;
	unsigned long pull_after;
	unsigned long fail_write;
	unsigned long lose_write;
	int no_manager;
	uint8_t manager_aid[16];	/* --manager-aid */
	size_t manager_aid_len;
	unsigned manager_sw;		/* --manager-locked */
	int piv;		/* --applet piv: 1; piv-generic: 2 */
};

static void usage(void)
{
	fprintf(stderr,
	    "usage: cardsim --create FILE --serial HEX "
	    "[--applet isoapplet|piv|piv-generic]\n"
	    "       cardsim --port P --image FILE [--host H] "
	    "[--latency real|none] [--baud N]\n"
	    "               [--trace FILE|-] [--stats FILE] [--pull-after N] "
	    "[--fail-write N]\n"
	    "               [--lose-write N]\n"
	    "               [--runtime javacard|jcardsim] [--manager-aid HEX]\n"
	    "               [--manager-locked SW]\n");
}

/* --manager-aid: 5 to 16 bytes of hex. */
static int parse_aid(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 != 0 || n < 10 || n > 32 || strspn(hex,
	    "0123456789abcdefABCDEF") != n)
		return SIM_ERR_USAGE;
	for (size_t i = 0; i < n / 2; i++) {
		char b[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	*len = n / 2;
	return SIM_OK;
}

/* --manager-locked: a status word, 4 hex digits, not 9000 or 61xx. */
static int parse_sw(const char *hex, unsigned *sw)
{
	if (strlen(hex) != 4 || strspn(hex, "0123456789abcdefABCDEF") != 4)
		return SIM_ERR_USAGE;
	*sw = (unsigned)strtoul(hex, NULL, 16);
	return *sw == 0x9000 || (*sw >> 8) == 0x61 || *sw < 0x6000 ?
	    SIM_ERR_USAGE : SIM_OK;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"create", required_argument, NULL, 'c'},
		{"serial", required_argument, NULL, 's'},
		{"image", required_argument, NULL, 'i'},
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"latency", required_argument, NULL, 'l'},
		{"baud", required_argument, NULL, 'b'},
		{"trace", required_argument, NULL, 't'},
		{"stats", required_argument, NULL, 'S'},
		{"pull-after", required_argument, NULL, 'P'},
		{"fail-write", required_argument, NULL, 'F'},
		{"lose-write", required_argument, NULL, 'W'},
		{"runtime", required_argument, NULL, 'R'},
		{"manager-aid", required_argument, NULL, 'M'},
		{"manager-locked", required_argument, NULL, 'L'},
		{"applet", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->latency = "none";
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->create = optarg; break;
		case 's': o->serial = optarg; break;
		case 'i': o->image = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'H': o->host = optarg; break;
		case 'l': o->latency = optarg; break;
		case 'b': o->baud = atof(optarg); break;
		case 't': o->trace = optarg; break;
		case 'S': o->stats = optarg; break;
		case 'P': o->pull_after = strtoul(optarg, NULL, 10); break;
		case 'F': o->fail_write = strtoul(optarg, NULL, 10); break;
		case 'W': o->lose_write = strtoul(optarg, NULL, 10); break;
		case 'R':
			if (strcmp(optarg, "jcardsim") == 0)
				o->no_manager = 1;
			else if (strcmp(optarg, "javacard") != 0)
				return SIM_ERR_USAGE;
			break;
		case 'A':
			if (strcmp(optarg, "piv") == 0)
				o->piv = 1;
			else if (strcmp(optarg, "piv-generic") == 0)
				o->piv = 2;
			else if (strcmp(optarg, "isoapplet") != 0)
				return SIM_ERR_USAGE;
			break;
		case 'M':
			if (parse_aid(optarg, o->manager_aid,
			    &o->manager_aid_len) != SIM_OK)
				return SIM_ERR_USAGE;
			break;
		case 'L':
			if (parse_sw(optarg, &o->manager_sw) != SIM_OK)
				return SIM_ERR_USAGE;
			break;
		default: return SIM_ERR_USAGE;
		}
	}
	if (optind != argc)
		return SIM_ERR_USAGE;
	if (o->create != NULL)
		return o->serial != NULL && o->image == NULL ? SIM_OK :
		    SIM_ERR_USAGE;
	if (o->image == NULL || o->port <= 0 || o->port > 65535)
		return SIM_ERR_USAGE;
	if (strcmp(o->latency, "real") != 0 && strcmp(o->latency, "none") != 0)
		return SIM_ERR_USAGE;
	return SIM_OK;
}

static int create(const struct opts *o)
{
	struct sim_card c;
	uint8_t serial[SIM_SERIAL_LEN];
	int r;

	if (sim_image_parse_serial(o->serial, serial) != SIM_OK) {
		fprintf(stderr, "cardsim: --serial takes 1 to %d bytes of hex\n",
		    SIM_SERIAL_LEN);
		return EXIT_FAILURE;
	}
	if (sim_card_init_blank(&c, serial) != SIM_OK)
		return EXIT_FAILURE;
	if (o->piv && sim_piv_init(&c, o->piv == 2) != SIM_OK) {
		sim_card_free(&c);
		return EXIT_FAILURE;
	}
	r = sim_image_save(&c, o->create);
	sim_card_free(&c);
	if (r != SIM_OK) {
		perror("cardsim: writing the card image");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* One command: fault injection, the card, persistence, the latency. */
static int handle_apdu(struct sim_card *c, const struct opts *o,
    const struct sim_latency *lat, struct sim_trace *t, const uint8_t *cmd,
    size_t len, uint8_t *out, size_t *out_len)
{
	struct sim_resp r;
	int is_write, ec;
	double ms;

	c->dirty = 0;
	c->eeprom_bytes = 0;
	c->crypto_ops = 0;
	c->keygen_ops = 0;
	is_write = len >= 2 && ((c->selected == SIM_SEL_ISOAPPLET &&
	    sim_applet_is_write(cmd[1])) || (c->selected == SIM_SEL_PIV &&
	    sim_piv_is_write(cmd[1])));
	if (is_write)
		t->st.writes++;
	if (is_write && o->fail_write != 0 && t->st.writes == o->fail_write) {
		/* The EEPROM write fails: nothing changes on the card. */
		r.len = 0;
		r.sw = SW_MEMORY_FAILURE;
	} else if (is_write && o->lose_write != 0 &&
	    t->st.writes == o->lose_write) {
		/* A write the card loses without noticing: it answers 9000
		 * and nothing changes (what only reading back finds). */
		r.len = 0;
		r.sw = SW_OK;
	} else {
		sim_card_apdu(c, cmd, len, &r);
	}
	/* Commit to "EEPROM" before the card answers, as a card does. */
	if (c->dirty && sim_image_save(c, o->image) != SIM_OK) {
		perror("cardsim: saving the card image");
		return SIM_ERR_IO;
	}
	ec = c->piv != NULL ? sim_piv_last_ec(c) :
	    c->key[c->key_ref].type == SIM_KEY_EC;
	ms = sim_latency_cost(lat, len, r.len + 2, c->eeprom_bytes,
	    c->crypto_ops, ec, c->keygen_ops);
	sim_latency_wait(ms);
	memcpy(out, r.data, r.len);
	out[r.len] = (uint8_t)(r.sw >> 8);
	out[r.len + 1] = (uint8_t)r.sw;
	*out_len = r.len + 2;
	sim_trace_apdu(t, cmd, len, r.data, r.len, r.sw, ms);
	sim_trace_write_stats(t);
	return SIM_OK;
}

static int run(const struct opts *o)
{
	struct sim_card c;
	struct sim_latency lat;
	struct sim_trace t;
	sigset_t block, waitmask;
	uint8_t in[65536], out[512];
	size_t len, out_len;
	int fd = -1, r, ret = EXIT_FAILURE;

	/* Signals wait until we are idle in ppoll: a removal never cuts a
	 * command (or an image write) in half. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	sim_latency_defaults(&lat, strcmp(o->latency, "real") == 0);
	if (o->baud > 0)
		lat.baud = o->baud;
	if (sim_image_load(&c, o->image) != SIM_OK) {
		fprintf(stderr, "cardsim: cannot load card image %s\n",
		    o->image);
		return EXIT_FAILURE;
	}
	c.no_manager = o->no_manager;
	memcpy(c.manager_aid, o->manager_aid, sizeof(c.manager_aid));
	c.manager_aid_len = o->manager_aid_len;
	c.manager_cplc_sw = (uint16_t)o->manager_sw;
	sim_card_reset(&c);
	if (sim_trace_open(&t, o->trace, o->stats) != SIM_OK) {
		perror("cardsim: trace");
		goto out;
	}
	sim_trace_write_stats(&t);
	if (sim_vpcd_connect(o->host, o->port, &fd) != SIM_OK) {
		fprintf(stderr, "cardsim: no vpcd reader at %s:%d\n", o->host,
		    o->port);
		goto out;
	}
	sim_trace_event(&t, "inserted");
	for (;;) {
		r = sim_vpcd_recv(fd, &waitmask, in, sizeof(in), &len);
		if (r == SIM_VPCD_SIGNAL || r == SIM_VPCD_EOF) {
			sim_trace_event(&t, r == SIM_VPCD_EOF ?
			    "reader closed" : "removed");
			ret = EXIT_SUCCESS;
			break;
		}
		if (r != SIM_OK || len == 0)
			break;
		if (len == 1) {
			switch (in[0]) {
			case SIM_VPCD_POWER_ON:
				t.st.power_ons++;
				sim_card_reset(&c);
				break;
			case SIM_VPCD_RESET:
				t.st.resets++;
				sim_card_reset(&c);
				break;
			case SIM_VPCD_POWER_OFF:
				sim_card_reset(&c);
				break;
			case SIM_VPCD_GET_ATR:
				/* A PIV card shows a YubiKey 5's ATR. */
				r = sim_piv_is_yubikey(&c) ?
				    sim_vpcd_send(fd, sim_piv_atr,
				    sizeof(sim_piv_atr)) :
				    sim_vpcd_send(fd, default_atr,
				    sizeof(default_atr));
				break;
			default:
				break;
			}
			if (r != SIM_OK)
				break;
			continue;
		}
		if (handle_apdu(&c, o, &lat, &t, in, len, out, &out_len) !=
		    SIM_OK || sim_vpcd_send(fd, out, out_len) != SIM_OK)
			break;
		if (o->pull_after != 0 && t.st.apdus >= o->pull_after) {
			sim_trace_event(&t, "pulled (--pull-after)");
			ret = EXIT_PULLED;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	sim_trace_write_stats(&t);
	sim_trace_close(&t);
	sim_card_free(&c);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o;

	if (parse_opts(argc, argv, &o) != SIM_OK) {
		usage();
		return EXIT_FAILURE;
	}
	if (o.create != NULL)
		return create(&o);
	return run(&o);
}
