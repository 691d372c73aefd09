/* sim_latency.h - how long a real card in a real reader would take.
 *
 * Defaults (--latency real), from published figures of real cards and
 * readers (docs/cardsim.md lists them):
 *   per APDU     12 ms   short-APDU round trip on USB CCID readers: 8-31 ms
 *   per byte     12 etu at 412,903 bit/s (the most common reader maximum
 *                after speed negotiation): ~29 us, i.e. ~34 kB/s, inside
 *                the 12-37 kB/s seen after negotiation
 *   EEPROM       5 ms per 64-byte page written (3-10 ms per 32-128 bytes)
 *   RSA-2048     100 ms per private-key operation (50-200 ms)
 *   EC           80 ms per signature (assumed, below RSA-2048)
 *   key pair     2000 ms per on-card generation (assumed; no figure)
 * --latency none (the default) answers at once. */
#ifndef SIM_LATENCY_H
#define SIM_LATENCY_H

#include <stddef.h>

struct sim_latency {
	int enabled;
	double apdu_ms;
	double baud;
	double etu_per_byte;
	double page_ms;
	double page_bytes;
	double rsa_ms;
	double ec_ms;
	double keygen_ms;
};

void sim_latency_defaults(struct sim_latency *l, int enabled);
/* Milliseconds this exchange costs. */
double sim_latency_cost(const struct sim_latency *l, size_t bytes_in,
    size_t bytes_out, size_t eeprom_bytes, int crypto_ops, int ec,
    int keygen_ops);
/* Spend that time (the model itself; not synchronisation). */
void sim_latency_wait(double ms);

#endif
