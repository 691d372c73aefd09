/* sim_latency.c - the latency model. */
#include "sim_latency.h"

#include <errno.h>
#include <math.h>
#include <time.h>

void sim_latency_defaults(struct sim_latency *l, int enabled)
{
	l->enabled = enabled;
	l->apdu_ms = 12.0;
	l->baud = 412903.0;
	l->etu_per_byte = 12.0;
	l->page_ms = 5.0;
	l->page_bytes = 64.0;
	l->rsa_ms = 100.0;
	l->ec_ms = 80.0;
	l->keygen_ms = 2000.0;
}

double sim_latency_cost(const struct sim_latency *l, size_t bytes_in,
    size_t bytes_out, size_t eeprom_bytes, int crypto_ops, int ec,
    int keygen_ops)
{
	double ms;

	if (!l->enabled)
		return 0.0;
	ms = l->apdu_ms;
	ms += (double)(bytes_in + bytes_out) * l->etu_per_byte / l->baud *
	    1000.0;
	ms += ceil((double)eeprom_bytes / l->page_bytes) * l->page_ms;
	ms += crypto_ops * (ec ? l->ec_ms : l->rsa_ms);
	ms += keygen_ops * l->keygen_ms;
	return ms;
}

void sim_latency_wait(double ms)
{
	struct timespec ts;

	if (ms <= 0.0)
		return;
	ts.tv_sec = (time_t)(ms / 1000.0);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
