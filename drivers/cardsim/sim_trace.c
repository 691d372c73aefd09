/* sim_trace.c - trace lines and the JSON counters. The trace shows whole
 * APDUs, PINs included: it is a test tool's trace of a test card. */
#include "sim_trace.h"
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sim_trace_open(struct sim_trace *t, const char *trace_path,
    const char *stats_path)
{
	memset(t, 0, sizeof(*t));
	t->stats_path = stats_path;
	if (trace_path == NULL)
		return SIM_OK;
	if (strcmp(trace_path, "-") == 0)
		t->f = stderr;
	else if ((t->f = fopen(trace_path, "ae")) == NULL)
		return SIM_ERR_IO;
	setvbuf(t->f, NULL, _IOLBF, 0);
	return SIM_OK;
}

void sim_trace_close(struct sim_trace *t)
{
	if (t->f != NULL && t->f != stderr)
		fclose(t->f);
	t->f = NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sim_trace_event(struct sim_trace *t, const char *what)
{
	if (t->f != NULL)
		fprintf(t->f, "%.6f # %s\n", now_s(), what);
}

static void hex(FILE *f, const uint8_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02X", v[i]);
}

void sim_trace_apdu(struct sim_trace *t, const uint8_t *cmd, size_t len,
    const uint8_t *resp, size_t rlen, uint16_t sw, double ms)
{
	t->st.apdus++;
	t->st.bytes_in += len;
	t->st.bytes_out += rlen + 2;
	if (len >= 2)
		t->st.by_ins[cmd[1]]++;
	t->st.model_ms += ms;
	if (t->f == NULL)
		return;
	fprintf(t->f, "%.6f > ", now_s());
	hex(t->f, cmd, len);
	fprintf(t->f, "\n%.6f < ", now_s());
	hex(t->f, resp, rlen);
	fprintf(t->f, " %04X\n", sw);
}

int sim_trace_write_stats(const struct sim_trace *t)
{
	char tmp[4096];
	FILE *f;
	int i, first = 1;

	if (t->stats_path == NULL)
		return SIM_OK;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", t->stats_path,
	    (long)getpid());
	if ((f = fopen(tmp, "we")) == NULL)
		return SIM_ERR_IO;
	fprintf(f, "{\"apdus\": %lu, \"bytes_in\": %lu, \"bytes_out\": %lu, "
	    "\"writes\": %lu, \"power_ons\": %lu, \"resets\": %lu, "
	    "\"model_ms\": %.1f, \"by_ins\": {", t->st.apdus, t->st.bytes_in,
	    t->st.bytes_out, t->st.writes, t->st.power_ons, t->st.resets,
	    t->st.model_ms);
	for (i = 0; i < 256; i++) {
		if (t->st.by_ins[i] == 0)
			continue;
		fprintf(f, "%s\"%02X\": %lu", first ? "" : ", ", i,
		    t->st.by_ins[i]);
		first = 0;
	}
	fprintf(f, "}}\n");
	if (fclose(f) != 0 || rename(tmp, t->stats_path) != 0) {
		unlink(tmp);
		return SIM_ERR_IO;
	}
	return SIM_OK;
}
