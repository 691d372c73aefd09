/* fuzz_wire.c - the encode workers' event line (cs_wire_send and
 * cs_wire_parse in station/engine/cs_wire.c), as a round trip through a pipe.
 *
 * Input: kind (1 byte), step and steps (4 bytes each, little endian), a
 * repeat count for the text (1 byte), then the eleven string fields cut at
 * NUL: state, chip_serial, printed_no, profile, holder, mail, staff_no,
 * cert_serial, text, pin, puk.
 * Properties: one event is one line, ended by its only LF, whatever the
 * fields hold; parse(send(ev)) gives back kind, step, steps and every
 * string with tabs, CR and LF made spaces (an empty string comes back as
 * NULL); a line cut at CS_WIRE_MAX gives back prefixes. */
#include "fuzz_util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cs_err.h"
#include "cs_run_int.h"

static int pipefd[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0)
		abort();
	/* Room for the longest line plus slack: the write must not block. */
	fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 16);
	return 0;
}

static int32_t le32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* Is got what was sent, flattened (or, when the line was cut, a prefix)? */
static void same(const char *sent, const char *got, int cut)
{
	size_t n = sent ? strlen(sent) : 0;

	if (n == 0 || got == NULL) {
		FUZZ_CHECK(got == NULL || cut);
		FUZZ_CHECK(n == 0 || cut);
		return;
	}
	FUZZ_CHECK(strlen(got) <= n);
	FUZZ_CHECK(cut || strlen(got) == n);
	for (size_t i = 0; got[i] != '\0'; i++) {
		char want = sent[i] == '\t' || sent[i] == '\n' || sent[i] == '\r' ?
		    ' ' : sent[i];

		FUZZ_CHECK(got[i] == want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cut c;
	char *f[11] = {NULL}, *text = NULL;
	cs_run_event ev = {0}, back;
	char line[2 * CS_WIRE_MAX];
	ssize_t got;
	size_t n;
	int r, cut;
	unsigned repeat;

	if (size < 10)
		return 0;
	ev.kind = (cs_run_ev_kind)data[0];
	ev.step = le32(data + 1);
	ev.steps = le32(data + 5);
	repeat = data[9];
	c = (fuzz_cut){data + 10, size - 10};
	for (int i = 0; i < 11; i++) {
		const uint8_t *p;
		size_t len;

		if (!fuzz_cut_next(&c, 0, &p, &len))
			break;
		f[i] = fuzz_strndup(p, len);
	}
	/* A long text (a failure's reason) without a long input. */
	if (f[8] != NULL && repeat > 1) {
		size_t len = strlen(f[8]);

		if ((text = malloc(len * repeat + 1)) == NULL)
			abort();
		for (unsigned i = 0; i < repeat; i++)
			memcpy(text + i * len, f[8], len);
		text[len * repeat] = '\0';
	}
	ev.state = f[0];
	ev.chip_serial = f[1];
	ev.printed_no = f[2];
	ev.profile = f[3];
	ev.holder = f[4];
	ev.mail = f[5];
	ev.staff_no = f[6];
	ev.cert_serial = f[7];
	ev.text = text ? text : f[8];
	ev.pin = f[9];
	ev.puk = f[10];

	cs_wire_send(pipefd[1], &ev);
	got = read(pipefd[0], line, sizeof(line) - 1);
	FUZZ_CHECK(got > 0 && (size_t)got <= CS_WIRE_MAX);
	n = (size_t)got;
	line[n] = '\0';
	/* One event, one line: the coordinator splits at LF. */
	FUZZ_CHECK(line[n - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', n - 1) == NULL);
	line[n - 1] = '\0';
	cut = n >= CS_WIRE_MAX - 1;

	r = cs_wire_parse(line, &back);
	/* A worker sends its card's events and its journal's notices
	 * (CS_EV_JOURNAL); the coordinator's own kinds never come in. */
	FUZZ_CHECK(r == ((ev.kind >= CS_EV_READER && ev.kind <= CS_EV_END) ||
	    ev.kind == CS_EV_JOURNAL ? CS_OK : CS_ERR_FORMAT));
	FUZZ_CHECK(back.kind == ev.kind);
	FUZZ_CHECK(back.step == ev.step && back.steps == ev.steps);
	same(ev.state, back.state, cut);
	same(ev.chip_serial, back.chip_serial, cut);
	same(ev.printed_no, back.printed_no, cut);
	same(ev.profile, back.profile, cut);
	same(ev.holder, back.holder, cut);
	same(ev.mail, back.mail, cut);
	same(ev.staff_no, back.staff_no, cut);
	same(ev.cert_serial, back.cert_serial, cut);
	same(ev.text, back.text, cut);
	same(ev.pin, back.pin, cut);
	same(ev.puk, back.puk, cut);

	for (int i = 0; i < 11; i++)
		free(f[i]);
	free(text);
	return 0;
}
