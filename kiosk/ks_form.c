/* ks_form.c - POST bodies, kept in locked memory.
 *
 * Every POST body may carry a PIN (the handover keypad, a run's initial
 * PIN), so every body is read straight into a cs_secret and decoded there:
 * the values handlers see never leave locked, wiped memory. */
#include "ks.h"

#include "cs_err.h"

#include <stdlib.h>
#include <string.h>

int ks_form_new(ks_form **out)
{
	ks_form *f;
	int r;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return CS_ERR_NOMEM;
	if ((r = cs_secret_new(&f->body, KS_BODY_MAX + 1)) != CS_OK) {
		free(f);
		return r;
	}
	*out = f;
	return CS_OK;
}

int ks_form_append(ks_form *f, const char *data, size_t len)
{
	if (len > KS_BODY_MAX - f->body->len)
		return CS_ERR_LIMIT;
	memcpy(f->body->buf + f->body->len, data, len);
	f->body->len += len;
	f->body->buf[f->body->len] = '\0';
	return CS_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ks_urldecode(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

int ks_form_parse(ks_form *f)
{
	char *p = (char *)f->body->buf;

	f->n = 0;
	while (*p != '\0') {
		char *amp = strchr(p, '&'), *eq;

		if (amp != NULL)
			*amp = '\0';
		if (*p != '\0') {
			if (f->n == sizeof(f->key) / sizeof(f->key[0]))
				return CS_ERR_LIMIT;
			eq = strchr(p, '=');
			if (eq == NULL)
				return CS_ERR_FORMAT;
			*eq = '\0';
			if (ks_urldecode(p) != 0 || ks_urldecode(eq + 1) != 0)
				return CS_ERR_FORMAT;
			f->key[f->n] = p;
			f->val[f->n++] = eq + 1;
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return CS_OK;
}

const char *ks_form_get(const ks_form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->val[i];
	return NULL;
}

void ks_form_free(ks_form *f)
{
	if (f == NULL)
		return;
	cs_secret_free(f->body);
	free(f);
}
