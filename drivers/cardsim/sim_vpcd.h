/* sim_vpcd.h - the card side of vsmartcard's vpcd protocol.
 *
 * vpcd (the reader driver inside pcscd) listens on a TCP port; the card
 * connects as the client and stays connected while it is "inserted".
 * Every message either way is a 2-byte big-endian length and a payload.
 * From vpcd, a 1-byte payload is a control message (power off, power on,
 * reset, get ATR; only get ATR is answered, with the ATR), anything
 * longer is a command APDU, answered with the response APDU. */
#ifndef SIM_VPCD_H
#define SIM_VPCD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_VPCD_POWER_OFF	0x00
#define SIM_VPCD_POWER_ON	0x01
#define SIM_VPCD_RESET		0x02
#define SIM_VPCD_GET_ATR	0x04

#define SIM_VPCD_EOF		1	/* reader closed the connection */
#define SIM_VPCD_SIGNAL		2	/* a signal in sigmask arrived */

int sim_vpcd_connect(const char *host, int port, int *fd);
/* Wait for one message; signals blocked by the caller are let through
 * (and reported as SIM_VPCD_SIGNAL) only while waiting. */
int sim_vpcd_recv(int fd, const sigset_t *waitmask, uint8_t *buf,
    size_t cap, size_t *len);
int sim_vpcd_send(int fd, const uint8_t *buf, size_t len);

#endif
