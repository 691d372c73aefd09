/* sim_trace.h - what the card saw: an APDU trace and counters, for
 * debugging and for benchmarks that count APDUs per step. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

struct sim_stats {
	unsigned long apdus;
	unsigned long bytes_in;		/* command APDU bytes */
	unsigned long bytes_out;	/* response bytes, SW included */
	unsigned long writes;		/* commands that change the card */
	unsigned long power_ons;
	unsigned long resets;
	unsigned long by_ins[256];
	double model_ms;		/* time the latency model spent */
};

struct sim_trace {
	FILE *f;			/* NULL: no trace */
	const char *stats_path;		/* NULL: no stats file */
	struct sim_stats st;
};

int sim_trace_open(struct sim_trace *t, const char *trace_path,
    const char *stats_path);
void sim_trace_close(struct sim_trace *t);
void sim_trace_event(struct sim_trace *t, const char *what);
void sim_trace_apdu(struct sim_trace *t, const uint8_t *cmd, size_t len,
    const uint8_t *resp, size_t rlen, uint16_t sw, double ms);
/* Rewrite the stats file (JSON), atomically. */
int sim_trace_write_stats(const struct sim_trace *t);

#endif
