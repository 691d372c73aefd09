/* cs_secret.h - the one place secrets live.
 *
 * Access PINs, card PINs and decrypted key material are kept in buffers that
 * are locked in RAM (never swapped), excluded from core dumps and wiped when
 * freed. cs_secret_process_init() hardens the whole process: no core dumps,
 * not ptrace-able by other users, and OpenSSL's secure heap switched on so
 * private-key bignums live in locked memory too. */
#ifndef CS_SECRET_H
#define CS_SECRET_H

#include <stddef.h>

typedef struct cs_secret {
	unsigned char *buf; /* locked, MADV_DONTDUMP pages */
	size_t len;         /* bytes in use */
	size_t cap;         /* usable bytes */
} cs_secret;

/* Call once at the start of main(), before any secret is read. */
int cs_secret_process_init(void);

/* A secret buffer able to hold cap bytes; *out is NULL on failure. */
int cs_secret_new(cs_secret **out, size_t cap);
/* A secret holding a copy of the len bytes at p (plus a NUL). */
int cs_secret_from(cs_secret **out, const void *p, size_t len);
/* Wipe, unlock and free; NULL is fine. */
void cs_secret_free(cs_secret *s);
/* Secrets are not MADV_DONTFORK: pkcs15-init's environment is built in
 * them and read by execve in the forked child. No process lives on in a
 * fork with them: encode workers are exec'd and get theirs over a pipe. */
/* The contents as a C string (always NUL terminated within cap). */
const char *cs_secret_str(const cs_secret *s);

#endif
