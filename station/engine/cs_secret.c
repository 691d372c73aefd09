/* cs_secret.c - locked, undumpable, wiped buffers for secrets. */
#include "cs_secret.h"
#include "cs_err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Enough locked heap for a few thousand RSA-2048 private keys at once; the
 * engine holds one or two. */
#define CS_SECURE_HEAP_SIZE (1u << 20)
#define CS_SECURE_HEAP_MIN 32

int cs_secret_process_init(void)
{
	struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return CS_ERR_STATE;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return CS_ERR_STATE;
	/* OpenSSL keeps BIGNUMs flagged secret (private exponents, CRT
	 * parts) in this mlock'ed, guard-paged arena. */
	if (CRYPTO_secure_malloc_initialized() == 0 &&
	    CRYPTO_secure_malloc_init(CS_SECURE_HEAP_SIZE, CS_SECURE_HEAP_MIN) == 0)
		return CS_ERR_NOMEM;
	return CS_OK;
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

int cs_secret_new(cs_secret **out, size_t cap)
{
	cs_secret *s;
	size_t maplen = page_round(cap + 1);
	void *p;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CS_ERR_NOMEM;
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(s);
		return CS_ERR_NOMEM;
	}
	/* A secret that cannot be locked must not be read at all: it could
	 * reach swap. */
	if (mlock(p, maplen) != 0) {
		munmap(p, maplen);
		free(s);
		return CS_ERR_NOMEM;
	}
	(void)madvise(p, maplen, MADV_DONTDUMP);
	s->buf = p;
	s->cap = maplen - 1;
	s->len = 0;
	*out = s;
	return CS_OK;
}

int cs_secret_from(cs_secret **out, const void *p, size_t len)
{
	int r;

	if ((r = cs_secret_new(out, len)) != CS_OK)
		return r;
	memcpy((*out)->buf, p, len);
	(*out)->buf[len] = '\0';
	(*out)->len = len;
	return CS_OK;
}

void cs_secret_free(cs_secret *s)
{
	size_t maplen;

	if (s == NULL)
		return;
	maplen = s->cap + 1;
	OPENSSL_cleanse(s->buf, maplen);
	munlock(s->buf, maplen);
	munmap(s->buf, maplen);
	free(s);
}

const char *cs_secret_str(const cs_secret *s)
{
	s->buf[s->len < s->cap ? s->len : s->cap] = '\0';
	return (const char *)s->buf;
}
