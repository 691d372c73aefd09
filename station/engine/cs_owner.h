/* cs_owner.h - who holds a claim: a station process, named so that another
 * process can tell whether it is still alive.
 *
 * A claim in the journal (a record being written) belongs to the process
 * that took it. Another station resuming the same run may take a claim back
 * only when its owner is gone; a pid alone cannot say that (pids are
 * re-used, and differ between PID namespaces), so an owner is the host, the
 * boot, the /proc that numbers its pid (one per PID namespace), the pid and
 * the process's start time since boot. On the same host, boot and /proc,
 * /proc tells for certain whether
 * that very process still runs. Anywhere else nothing local can tell: such
 * an owner counts as alive (its claims are never taken back on a guess). */
#ifndef CS_OWNER_H
#define CS_OWNER_H

#include <stdint.h>

typedef struct cs_owner {
	char host[256];
	char boot_id[40];  /* /proc/sys/kernel/random/boot_id */
	char procfs[40];   /* "proc:0:22": which /proc numbers pid (one per
	                      PID namespace) */
	int64_t pid;       /* as that /proc numbers it */
	int64_t start;     /* clock ticks since boot, /proc/PID/stat field 22 */
} cs_owner;

typedef enum cs_owner_life {
	CS_OWNER_ALIVE,    /* that process runs */
	CS_OWNER_GONE,     /* it certainly does not */
	CS_OWNER_UNKNOWN   /* another host or namespace: cannot tell here */
} cs_owner_life;

/* This process. CS_ERR_IO if /proc cannot say. */
int cs_owner_self(cs_owner *o);
/* Whether o still runs, judged from self's host, boot and namespace. */
cs_owner_life cs_owner_life_of(const cs_owner *self, const cs_owner *o);

#endif
